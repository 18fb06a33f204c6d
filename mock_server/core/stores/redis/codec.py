"""How records (tasks, scenarios) travel through Redis: pickled, and unpickled with care.

Pickle keeps every field of the core's frozen dataclasses as it is (enums,
compiled patterns, read-only mappings) without a codec per type. Loading
pickle can run code, so the unpickler here builds only the mock's own
classes and the few standard types they hold: a value written into the
mock's Redis by anyone else is refused, never executed.
"""

from __future__ import annotations

import copyreg
import io
import pickle
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from operator import attrgetter
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


# What pickle's own reduction names for "a new object of this class" (protocol 2 on).
_NEWOBJ = copyreg.__newobj__  # type: ignore[attr-defined]


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


class Encoder(dict[type, Callable[[Any], tuple[Any, ...]]]):
    """`dumps` with slotted dataclasses reduced fast: one per store, its reducers by type.

    A dataclass with slots reduces through `dataclasses`' own `__getstate__`,
    which looks up the class's fields on every object; the reducer made here
    looks them up once per class and returns exactly what that one returns,
    so the bytes written are the same (records already stored read alike).
    Every other type is left to pickle's own reduction (a `KeyError`).
    """

    def __init__(self) -> None:
        super().__init__({MappingProxyType: _reduce_mapping})

    def __missing__(self, cls: type) -> Callable[[Any], tuple[Any, ...]]:
        getstate = getattr(cls, "__getstate__", None)
        if not (is_dataclass(cls) and getattr(getstate, "__name__", "") == "_dataclass_getstate"):
            raise KeyError(cls)
        names = [field.name for field in fields(cls)]
        read = attrgetter(*names)
        many = len(names) > 1

        def reduce(value: Any) -> tuple[Any, ...]:
            state = list(read(value)) if many else [read(value)]
            return (_NEWOBJ, (cls,), state, None, None)

        self[cls] = reduce  # a race only makes the same reducer twice
        return reduce

    def dumps(self, value: object) -> bytes:
        """`value` as bytes for Redis, the same bytes as the module's `dumps`."""
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = self
        pickler.dump(value)
        return buffer.getvalue()


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
