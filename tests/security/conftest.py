"""The end-to-end fixtures (an operator process per test, on the session control plane) for security tests."""

from tests.e2e.conftest import peering, start_operator

__all__ = ["peering", "start_operator"]
