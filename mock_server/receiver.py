"""Old import path of the callback receiver, kept so that existing imports still work.

New code imports `from mock_server.testing.receiver import CallbackReceiver`.
"""

from .testing.receiver import CallbackReceiver, ReceivedCallback

__all__ = ("CallbackReceiver", "ReceivedCallback")
