"""Notifications: which subscriptions an Event reaches and what each receiver kind is sent. Pure (no I/O):
delivery, Secrets and retries are the controller's (``controller/notifications.py``)."""

from .render import Notice, render
from .route import Route, routes

__all__ = ["Notice", "Route", "render", "routes"]
