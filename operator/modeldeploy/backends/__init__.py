"""Serving backends: where revisions run and how traffic reaches them."""
