"""Services on a test's Redis, as separate processes sharing one store would be."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mock_server.core.callbacks import SendResult
from mock_server.core.service import MockService

Make = Callable[..., MockService]  # builds one service on the test's Redis (config overrides)


class NullSender:
    """Callbacks are not under test here."""

    def post(self, url: str, body: bytes, headers: Any, timeout_s: float) -> SendResult:
        return SendResult(200, None, 0.0)
