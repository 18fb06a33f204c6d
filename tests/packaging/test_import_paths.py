"""Import paths that users may have written before the regrouping keep working."""

from __future__ import annotations

import importlib

import pytest

from mock_server.core.callbacks.dispatcher import CallbackDispatcher
from mock_server.core.callbacks.policy import CallbackPolicy
from mock_server.outbound.fetcher import ImageFetcher
from mock_server.outbound.sender import HttpCallbackSender
from mock_server.testing.receiver import CallbackReceiver
from mock_server.testing.server import MockServer

OLD_PATHS = [
    ("mock_server", "MockServer", MockServer),
    ("mock_server.server", "MockServer", MockServer),
    ("mock_server.receiver", "CallbackReceiver", CallbackReceiver),
    ("mock_server.outbound", "HttpCallbackSender", HttpCallbackSender),
    ("mock_server.outbound", "ImageFetcher", ImageFetcher),
    ("mock_server.core.callbacks", "CallbackDispatcher", CallbackDispatcher),
    ("mock_server.core.callbacks", "CallbackPolicy", CallbackPolicy),
]


@pytest.mark.parametrize(
    ("module", "name", "expected"), OLD_PATHS, ids=[f"{m}.{n}" for m, n, _ in OLD_PATHS]
)
def test_an_old_import_path_gives_the_moved_object(
    module: str, name: str, expected: object
) -> None:
    assert getattr(importlib.import_module(module), name) is expected


def test_the_pytest11_entry_point_names_the_plugin_module() -> None:
    from importlib.metadata import entry_points

    [plugin] = [e for e in entry_points(group="pytest11") if e.name == "apixo_mock"]
    assert plugin.value == "mock_server.testing.pytest_plugin"
    assert hasattr(plugin.load(), "apixo_mock")
