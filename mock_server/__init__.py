"""apixo-mock: a stateful mock of the APIXO gpt-image-1 API, and its contract-test harness.

The public surface is loaded lazily, so that `import mock_server.core` (and the
pytest plugin, when unused) pulls in neither Flask nor Pillow.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .server import MockServer
    from .settings import Settings
    from .web.app import create_app

__all__ = ("MockServer", "Settings", "__version__", "create_app")

_LAZY = MappingProxyType(
    {
        "MockServer": ("mock_server.testing.server", "MockServer"),
        "Settings": ("mock_server.settings", "Settings"),
        "create_app": ("mock_server.web.app", "create_app"),
    }
)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'mock_server' has no attribute {name!r}")
    import importlib

    module_name, attribute = _LAZY[name]
    return getattr(importlib.import_module(module_name), attribute)
