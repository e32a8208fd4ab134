"""The collection's tests reuse the app-client fixtures of tests/apps (the Go clients, built once)."""

from tests.apps.conftest import go_clients

__all__ = ["go_clients"]
