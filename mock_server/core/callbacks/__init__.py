"""Callback delivery: POST a finished task's status envelope to its callback_url.

dispatcher.py claims due deliveries from a `DeliveryStore` on the mock clock
and runs the sender threads; records.py holds a delivery as data (what the
store keeps and hands out); policy.py holds the value types (policy, effect,
attempt, result) and the signing; queue.py is the send queue of claimed work;
attempts.py performs one work's attempts. The names users of callbacks import
are re-exported here.
"""

from .dispatcher import CallbackDispatcher
from .policy import (
    DELIVERY_STATES,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Abortable,
    Attempt,
    CallbackEffect,
    CallbackPolicy,
    CallbackSender,
    Multiplexing,
    Request,
    SendResult,
    check_callback_url,
    sign,
)

__all__ = (
    "DELIVERY_STATES",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Abortable",
    "Attempt",
    "CallbackDispatcher",
    "CallbackEffect",
    "CallbackPolicy",
    "CallbackSender",
    "Multiplexing",
    "Request",
    "SendResult",
    "check_callback_url",
    "sign",
)
