"""The protocol as data: every action and body with its fields, the limits, the error codes.

:func:`manifest` is derived from the message dataclasses themselves (field types, bounds,
defaults), so it cannot disagree with this package. It is committed as
``tests/protocol/manifest.json``: pytest checks that file against :func:`manifest`, and
the web SDK's vitest checks its own TypeScript schemas against the same file, so a code,
a field or a limit added on one side only fails a test in both suites. Regenerate it with
``python -m arbiter_protocol > tests/protocol/manifest.json``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from . import _codec, _json, http, messages, timing
from .errors import ErrorCode

__all__ = ["manifest"]

BODIES: tuple[type, ...] = (
    http.IceServer,
    http.JoinRequest,
    http.JoinResponse,
    http.CreateRoomRequest,
    http.RoomInfo,
    http.ErrorBody,
)
"The HTTP bodies, by their class name (as the TypeScript ``decodeBody`` names them)."


def manifest() -> dict[str, Any]:
    """The protocol as a JSON-ready dict (see the module docstring)."""
    nested: dict[str, Any] = {}
    actions = {
        action: _schema(cls, nested, skip=("action",)) for action, cls in messages.ACTIONS.items()
    }
    bodies = {cls.__name__: _schema(cls, nested) for cls in BODIES}
    return {
        "protocol_version": messages.PROTOCOL_VERSION,
        "limits": {
            "MAX_MESSAGE_BYTES": messages.MAX_MESSAGE_BYTES,
            "MAX_FRAME_BYTES": messages.MAX_FRAME_BYTES,
            "MAX_BODY_BYTES": http.MAX_BODY_BYTES,
            "MAX_NAME": messages.MAX_NAME,
            "MAX_SDP": messages.MAX_SDP,
            "MAX_CANDIDATE": messages.MAX_CANDIDATE,
            "MAX_STRING": _codec.MAX_STRING,
            "MAX_LIST": _codec.MAX_LIST,
            "MAX_DEPTH": _json.MAX_DEPTH,
            "MAX_NUMBER_CHARS": _json.MAX_NUMBER_CHARS,
            "MAX_REFRESH_TOKEN": messages.MAX_REFRESH_TOKEN,
            "MAX_METADATA": messages.MAX_METADATA,
            "DEFAULT_IDLE_TIMEOUT": timing.DEFAULT_IDLE_TIMEOUT,
            "KEEPALIVE_MAX_INTERVAL": timing.KEEPALIVE_MAX_INTERVAL,
            "KEEPALIVE_MIN_ACK_WAIT": timing.KEEPALIVE_MIN_ACK_WAIT,
        },
        "error_codes": {code.name: code.value for code in ErrorCode},
        "topics": {"CHAT_TOPIC": messages.CHAT_TOPIC},
        "grants": list(messages.ALL_GRANTS),
        "default_grants": list(messages.DEFAULT_GRANTS),
        "actions": actions,
        "bodies": bodies,
        "types": dict(sorted(nested.items())),
    }


def _schema(cls: type, nested: dict[str, Any], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    hints = get_type_hints(cls)
    fields = []
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        tp = hints[f.name]
        spec: dict[str, Any] = {"name": f.metadata.get("wire", f.name)}
        optional = _is_union(tp) and type(None) in get_args(tp)
        if optional:
            tp = next(a for a in get_args(tp) if a is not type(None))
        spec["type"] = _type(tp, f.metadata, nested)
        if optional:
            spec["optional"] = True
        elif f.default is not dataclasses.MISSING:
            spec["default"] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            spec["default"] = f.default_factory()
        else:
            spec["required"] = True
        fields.append(spec)
    return {"fields": fields, "check": "__post_init__" in vars(cls)}


def _type(tp: Any, meta: typing.Mapping[str, Any], nested: dict[str, Any]) -> dict[str, Any]:
    origin = get_origin(tp)
    if origin is Literal:
        return {"t": "literal", "values": list(get_args(tp))}
    if origin is list:
        (item,) = get_args(tp)
        return {
            "t": "list",
            "item": _type(item, {}, nested),  # items are read without the field's bounds
            "max_items": meta.get("max_items", _codec.MAX_LIST),
        }
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        name = tp.__name__
        if name not in nested:
            nested[name] = {}  # placeholder against recursion
            nested[name] = _schema(tp, nested)
        return {"t": "object", "schema": name}
    if tp is bool:
        return {"t": "bool"}
    if tp is int:
        return {"t": "int", "min": meta.get("min", -(2**53)), "max": meta.get("max", 2**53)}
    if tp is str:
        return {
            "t": "str",
            "max_len": meta.get("max_len", _codec.MAX_STRING),
            "min_len": meta.get("min_len", 0),
        }
    raise TypeError(f"no manifest form for {tp!r}")


def _is_union(tp: Any) -> bool:
    origin = get_origin(tp)
    return origin is Union or origin is types.UnionType
