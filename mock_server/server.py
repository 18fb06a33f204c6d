"""Old import path of MockServer, kept so that `from mock_server.server import MockServer` works.

New code imports `from mock_server import MockServer` (it lives in mock_server/testing/server.py).
"""

from .testing.server import MockServer

__all__ = ("MockServer",)
