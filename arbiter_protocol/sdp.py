"""What an SDP must look like before a WebRTC stack sees it, and how big it may be.

A handshake must fit one API Gateway frame (32 KB), so an SDP is bounded by its size as
JSON text; everything else is a cheap check of its shape (the stacks parse the rest).
"""

from __future__ import annotations

import re

from .errors import ErrorCode, ProtocolError

__all__ = ["MAX_SDP", "check_sdp", "sdp_json_size"]

MAX_SDP = 30 * 1024
"""Largest SDP, in bytes of its JSON-encoded text (quotes and escapes included), so that a
handshake carrying it fits one API Gateway frame (``MAX_FRAME_BYTES``)."""

_SDP_LINE_RE = re.compile(r"^[a-z]=[\x20-\x7e]*$")


def check_sdp(sdp: str) -> None:
    """Refuse text that is not plausibly SDP before it reaches a WebRTC stack.

    It must start with ``v=0``, every line must be ``<letter>=<printable ASCII>``, it must
    have an ``o=`` and at most 32 ``m=`` sections, and JSON-encoded it must fit in
    :data:`MAX_SDP` bytes (so a handshake fits one 32 KB frame). Raises
    :class:`ProtocolError`.
    """
    lines = sdp.replace("\r\n", "\n").rstrip("\n").split("\n")
    problem = None
    if (size := sdp_json_size(sdp)) > MAX_SDP:
        problem = f"is {size} bytes as JSON; the limit is {MAX_SDP} (one 32 KB frame)"
    elif not lines or lines[0] != "v=0":
        problem = "must start with 'v=0'"
    elif not any(line.startswith("o=") for line in lines):
        problem = "has no 'o=' line"
    elif sum(line.startswith("m=") for line in lines) > 32:
        problem = "has more than 32 media sections"
    else:
        for number, line in enumerate(lines, 1):
            if not _SDP_LINE_RE.match(line):
                problem = f"line {number} is not '<letter>=<printable text>'"
                break
    if problem is not None:
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, f"field 'sdp.sdp' {problem}")


def sdp_json_size(sdp: str) -> int:
    """Bytes of ``sdp`` as a JSON string: quotes, and two bytes per escaped character.

    Exact for text :func:`check_sdp` accepts (printable ASCII and line breaks).
    """
    escaped = sdp.count('"') + sdp.count("\\") + sdp.count("\r") + sdp.count("\n")
    return len(sdp) + escaped + 2
