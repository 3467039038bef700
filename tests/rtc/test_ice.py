"""ICE helpers of the RTC layer: one candidate rule and one configuration for both ends."""

from __future__ import annotations

from typing import Any

import pytest
from aiortc import RTCIceTransportPolicy

from arbiter_protocol import IceCandidate, IceServer
from arbiter_rtc import candidate_from_message, ice_servers, parse_ice_servers, rtc_configuration

LINE = "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host"


def test_parse_ice_servers() -> None:
    assert parse_ice_servers(None) == [] and parse_ice_servers(" ") == []
    (server,) = parse_ice_servers(
        '[{"urls": "turn:127.0.0.1:3478", "username": "u", "credential": "p"}]'
    )
    assert (server.urls, server.username, server.credential) == (
        ["turn:127.0.0.1:3478"],
        "u",
        "p",
    )
    for bad in ("{", "{}", "[1]", '[{"urls": []}]', '[{"urls": "stun:x", "username": 1}]'):
        with pytest.raises(ValueError):
            parse_ice_servers(bad)


def test_configuration_is_always_explicit() -> None:
    # None would make aiortc fall back to a public STUN server
    assert rtc_configuration([]).iceServers == []
    assert rtc_configuration([]).iceTransportPolicy is RTCIceTransportPolicy.ALL
    relay = rtc_configuration(
        ice_servers([IceServer(urls=["turn:127.0.0.1:3478"], username="u", credential="p")]),
        "relay",
    )
    assert relay.iceTransportPolicy is RTCIceTransportPolicy.RELAY
    assert relay.iceServers is not None
    ((server),) = relay.iceServers
    assert (server.urls, server.username, server.credential) == (
        ["turn:127.0.0.1:3478"],
        "u",
        "p",
    )


def test_candidate_from_message() -> None:
    parsed: Any = candidate_from_message(IceCandidate(candidate=LINE, sdpMid="0"))
    assert (parsed.ip, parsed.port, parsed.type, parsed.sdpMid) == ("127.0.0.1", 50000, "host", "0")
    by_index: Any = candidate_from_message(IceCandidate(candidate="a=" + LINE, sdpMLineIndex=1))
    assert (by_index.sdpMid, by_index.sdpMLineIndex) == (None, 1)
    assert candidate_from_message(IceCandidate(candidate="", sdpMid="0")) is None
    with pytest.raises(ValueError):
        candidate_from_message(IceCandidate(candidate="candidate:garbage", sdpMid="0"))


def test_a_candidate_that_names_no_media_section_is_refused() -> None:
    """W3C's addIceCandidate and aiortc refuse it: no end guesses section 0 any more."""
    with pytest.raises(ValueError, match="sdpMid"):
        candidate_from_message(IceCandidate(candidate=LINE))
    # the end-of-candidates marker needs no section
    assert candidate_from_message(IceCandidate(candidate="")) is None
