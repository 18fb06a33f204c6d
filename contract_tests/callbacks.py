"""Reading what the callback receiver got: the suite's side of callback delivery."""

from __future__ import annotations

import time

from mock_server.testing.receiver import CallbackReceiver, ReceivedCallback


def deliveries_to(
    receiver: CallbackReceiver, path: str, timeout_s: float
) -> list[ReceivedCallback]:
    """Deliveries whose path ends with `path`, waiting up to `timeout_s` for the first one."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = [item for item in receiver.deliveries() if item.path.endswith(path)]
        if found or time.monotonic() > deadline:
            return found
        receiver.wait_for(len(receiver.deliveries()) + 1, 0.05)
