"""How records (tasks, scenarios) travel through Redis: pickled, and unpickled with care.

Pickle keeps every field of the core's frozen dataclasses as it is (enums,
compiled patterns, read-only mappings) without a codec per type. Loading
pickle can run code, so the unpickler here builds only the mock's own
classes and the few standard types they hold: a value written into the
mock's Redis by anyone else is refused, never executed.
"""

from __future__ import annotations

import io
import pickle
from types import MappingProxyType
from typing import Any

# (module, name) pairs outside mock_server a stored record may name.
_ALLOWED = frozenset(
    {
        ("builtins", "frozenset"),
        ("builtins", "set"),
        ("copyreg", "_reconstructor"),
        ("builtins", "object"),
        ("decimal", "Decimal"),
        ("re", "_compile"),
    }
)


class RecordRefused(pickle.UnpicklingError):
    """A stored record names a class the mock does not store."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("mock_server.core.") or (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise RecordRefused(f"refused to load {module}.{name} from the store")


def read_only(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    """A read-only mapping again (pickle cannot name the mappingproxy type itself)."""
    return MappingProxyType(items)


def _reduce_mapping(mapping: MappingProxyType[Any, Any]) -> tuple[Any, tuple[Any, ...]]:
    return read_only, (dict(mapping),)


def dumps(value: object) -> bytes:
    """`value` as bytes for Redis (read-only mappings included)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {MappingProxyType: _reduce_mapping}
    pickler.dump(value)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    """A record written by `dumps`; `RecordRefused` for anything else."""
    return _Unpickler(io.BytesIO(data)).load()
