"""One strict JSON decoder for everything that arrives from the network.

The signaling handlers, the local gateway's route selection, the SFU's data channel and
the HTTP bodies all decode through :func:`decode_json`, so every way of getting JSON wrong
gets the same answer: ``malformed_json`` (or ``message_too_large``), never an exception
that escapes a receiver. It refuses, before or while decoding:

- more than ``max_bytes`` UTF-8 bytes (counted in bytes, whatever the input type);
- bytes that are not UTF-8, and text with a lone surrogate, written literally or as a
  ``\\ud800``-style escape (no such character exists, and it cannot be re-encoded);
- nesting deeper than :data:`MAX_DEPTH` arrays/objects;
- number literals longer than :data:`MAX_NUMBER_CHARS` characters, numbers that are not
  finite once read (``1e999``) and the non-JSON constants ``NaN`` and ``Infinity``.
"""

from __future__ import annotations

import json
import math
import re
from array import array
from itertools import accumulate
from typing import Any

from .errors import ErrorCode, ProtocolError

__all__ = ["MAX_DEPTH", "MAX_NUMBER_CHARS", "decode_json", "utf8_length"]

MAX_DEPTH = 32
"Deepest nesting of arrays and objects accepted."

MAX_NUMBER_CHARS = 32
"Longest number literal accepted, in characters."

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEPS = bytes.maketrans(b"[]{}", bytes([1, 255, 1, 255]))  # 255: -1 as a signed byte
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def utf8_length(text: str) -> int:
    """The length of ``text`` in UTF-8 bytes (lone surrogates count as 3)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _malformed(what: str, problem: str) -> ProtocolError:
    return ProtocolError(ErrorCode.MALFORMED_JSON, f"{what} {problem}")


def decode_json(raw: str | bytes, *, max_bytes: int, what: str = "message") -> Any:
    """Decode ``raw`` (UTF-8 bytes or text) as JSON; raise :class:`ProtocolError` otherwise.

    ``what`` names the input in error messages (``message``, ``body``).
    """
    if isinstance(raw, str):
        try:
            size = len(raw) if raw.isascii() else len(raw.encode("utf-8"))
        except UnicodeEncodeError:
            raise _malformed(what, "is not valid Unicode: it has a lone surrogate") from None
        text = raw
    else:
        size = len(raw)
        text = ""
    if size > max_bytes:
        raise ProtocolError(
            ErrorCode.MESSAGE_TOO_LARGE, f"{what} is {size} bytes; the limit is {max_bytes}"
        )
    if not isinstance(raw, str):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _malformed(
                what, f"is not valid UTF-8: {exc.reason} at byte {exc.start}"
            ) from None
    try:
        data = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except ProtocolError as exc:
        raise _malformed(what, exc.message) from None
    except RecursionError:
        raise _malformed(what, f"is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise _malformed(what, f"is not valid JSON: {exc}") from None
    if text.count("[") + text.count("{") > MAX_DEPTH and _too_deep(text):
        raise _malformed(what, f"is nested deeper than {MAX_DEPTH} levels")
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise _malformed(
                what, "has a lone surrogate escape (\\ud800-\\udfff without its pair)"
            ) from None
    return data


def _too_deep(text: str) -> bool:
    """Whether valid JSON ``text`` nests deeper than :data:`MAX_DEPTH`.

    Strings are removed, then only brackets are kept, each mapped to +1 (opening) or -1
    (closing); the deepest nesting is the largest running sum. Every step runs at C speed
    (about 5 ms for 128 KB of brackets).
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text)).encode("ascii")
    steps = array("b", brackets.translate(_STEPS))
    return max(accumulate(steps), default=0) > MAX_DEPTH


def _parse_int(literal: str) -> int:
    if len(literal) > MAX_NUMBER_CHARS:
        raise ProtocolError(
            ErrorCode.MALFORMED_JSON, f"has a number longer than {MAX_NUMBER_CHARS} characters"
        )
    return int(literal)


def _parse_float(literal: str) -> float:
    if len(literal) > MAX_NUMBER_CHARS:
        raise ProtocolError(
            ErrorCode.MALFORMED_JSON, f"has a number longer than {MAX_NUMBER_CHARS} characters"
        )
    value = float(literal)
    if not math.isfinite(value):
        raise ProtocolError(ErrorCode.MALFORMED_JSON, f"has a number out of range ({literal})")
    return value


def _parse_constant(name: str) -> float:
    raise ProtocolError(ErrorCode.MALFORMED_JSON, f"is not valid JSON: {name} is not a number")
