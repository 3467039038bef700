"""Turn dataclasses into JSON-ready dicts and back, validating every field by its type.

Supported field types: ``str``, ``int``, ``float``, ``bool``, ``X | None``, ``list[X]``,
``Literal[...]`` and nested dataclasses. Strings are bounded by ``MAX_STRING`` UTF-8 bytes
unless a field's metadata says otherwise (``field(metadata={"max_len": N})``, in bytes).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from ._json import utf8_length
from .errors import ErrorCode, ProtocolError

__all__ = ["from_dict", "to_dict"]

MAX_STRING = 64 * 1024
MAX_LIST = 1000

T = TypeVar("T")

_hints_cache: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _hints_cache.get(cls)
    if hints is None:
        hints = get_type_hints(cls)
        _hints_cache[cls] = hints
    return hints


def to_dict(obj: Any) -> dict[str, Any]:
    """Return the JSON-ready dict of a protocol dataclass; ``None`` fields are left out."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is None:
            continue
        out[f.metadata.get("wire", f.name)] = _dump(value)
    return out


def _dump(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value


def from_dict(cls: type[T], data: Any, path: str = "") -> T:
    """Build ``cls`` from ``data``, raising :class:`ProtocolError` naming the bad field."""
    if not isinstance(data, dict):
        raise _invalid(path or "message", "must be a JSON object")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init:
            continue
        wire = f.metadata.get("wire", f.name)
        where = f"{path}.{wire}" if path else wire
        if wire in data and data[wire] is not None:
            kwargs[f.name] = _load(hints[f.name], data[wire], where, f.metadata)
        elif _is_optional(hints[f.name]):
            kwargs[f.name] = None
        elif f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            continue
        else:
            raise _invalid(where, "is required")
    return cls(**kwargs)


def _is_optional(tp: Any) -> bool:
    return _is_union(tp) and type(None) in get_args(tp)


def _is_union(tp: Any) -> bool:
    origin = get_origin(tp)
    return origin is Union or origin is types.UnionType


def _invalid(where: str, problem: str) -> ProtocolError:
    return ProtocolError(ErrorCode.INVALID_MESSAGE, f"field '{where}' {problem}")


def _load(tp: Any, value: Any, where: str, meta: typing.Mapping[str, Any]) -> Any:
    if _is_union(tp):
        inner = [a for a in get_args(tp) if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"unsupported union at {where}")
        return _load(inner[0], value, where, meta)
    origin = get_origin(tp)
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            names = ", ".join(repr(a) for a in allowed)
            raise _invalid(where, f"must be one of {names}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise _invalid(where, "must be a list")
        if len(value) > meta.get("max_items", MAX_LIST):
            raise _invalid(where, "has too many items")
        (item_tp,) = get_args(tp)
        return [_load(item_tp, v, f"{where}[{i}]", {}) for i, v in enumerate(value)]
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)  # type: ignore[arg-type]
    if tp is bool:
        if not isinstance(value, bool):
            raise _invalid(where, "must be a boolean")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _invalid(where, "must be an integer")
        if not (meta.get("min", -(2**53)) <= value <= meta.get("max", 2**53)):
            raise _invalid(where, "is out of range")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _invalid(where, "must be a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise _invalid(where, "must be a string")
        size = utf8_length(value)
        if size > meta.get("max_len", MAX_STRING):
            raise _invalid(where, "is too long")
        if "min_len" in meta and size < meta["min_len"]:
            raise _invalid(where, "is too short")
        return value
    raise TypeError(f"unsupported field type {tp!r} at {where}")
