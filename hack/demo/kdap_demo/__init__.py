"""The demo harness behind `make demo` (a development tool beside the product, not part of it)."""
