"""ICE: STUN/TURN servers, the RTC configuration built from them, trickled candidates.

One rule for both ends (client and SFU): a trickled candidate must name its media section
(``sdpMid`` or ``sdpMLineIndex``), as W3C's ``addIceCandidate`` and aiortc require; an empty
candidate line means end-of-candidates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from aiortc import RTCConfiguration, RTCIceCandidate, RTCIceServer, RTCIceTransportPolicy
from aiortc.sdp import candidate_from_sdp

from arbiter_protocol import IceCandidate, IceServer

__all__ = [
    "IceTransportPolicy",
    "candidate_from_message",
    "ice_servers",
    "parse_ice_servers",
    "rtc_configuration",
]

IceTransportPolicy = Literal["all", "relay"]
"``relay`` sends all media through TURN; ``all`` lets ICE pick."


def ice_servers(servers: Iterable[IceServer]) -> list[RTCIceServer]:
    """aiortc's ``RTCIceServer`` for each protocol :class:`~arbiter_protocol.IceServer`."""
    return [
        RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
        for s in servers
    ]


def parse_ice_servers(text: str | None) -> list[RTCIceServer]:
    """Parse ``ARBITER_ICE_SERVERS``: a JSON list of ``{urls, username?, credential?}``.

    ``None`` or an empty string means no servers. Raises ``ValueError`` if malformed.
    """
    if text is None or not text.strip():
        return []
    try:
        raw: Any = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"ICE servers are not valid JSON: {exc}") from None
    if not isinstance(raw, list):
        raise ValueError("ICE servers must be a JSON list")
    servers: list[RTCIceServer] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ValueError(f"ICE server #{i} must be an object")
        urls = item.get("urls")
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise ValueError(f"ICE server #{i}: 'urls' must be a string or a list of strings")
        username = item.get("username")
        credential = item.get("credential")
        for name, value in (("username", username), ("credential", credential)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"ICE server #{i}: '{name}' must be a string")
        servers.append(RTCIceServer(urls=list(urls), username=username, credential=credential))
    return servers


def rtc_configuration(
    servers: Sequence[RTCIceServer], policy: IceTransportPolicy = "all"
) -> RTCConfiguration:
    """An explicit configuration (never ``None``: aiortc would add a public STUN server)."""
    return RTCConfiguration(
        iceServers=list(servers),
        iceTransportPolicy=(
            RTCIceTransportPolicy.RELAY if policy == "relay" else RTCIceTransportPolicy.ALL
        ),
    )


def candidate_from_message(candidate: IceCandidate) -> RTCIceCandidate | None:
    """The aiortc candidate for a trickled ``IceCandidate``; ``None`` means end-of-candidates.

    Raises ``ValueError`` if the candidate line cannot be parsed or names no media section
    (neither ``sdpMid`` nor ``sdpMLineIndex``: there is no section to guess).
    """
    line = candidate.candidate.strip()
    if not line:
        return None
    if line.startswith("a="):
        line = line[2:]
    if line.startswith("candidate:"):
        line = line[len("candidate:") :]
    if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
        raise ValueError("a candidate needs 'sdpMid' or 'sdpMLineIndex'")
    try:
        parsed = candidate_from_sdp(line)
    except (AssertionError, IndexError, ValueError) as exc:
        raise ValueError(f"cannot parse ICE candidate {candidate.candidate!r}: {exc}") from None
    parsed.sdpMid = candidate.sdpMid
    parsed.sdpMLineIndex = candidate.sdpMLineIndex
    return parsed
