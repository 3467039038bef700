"""Active speakers from RTP bytes: audio packets with an RFC 6464 level go into real
:class:`Layer` objects, and :class:`SpeakerDetector` ticks over their forwarders as the
room does every 0.25 s."""

from __future__ import annotations

import pytest

from arbiter_server.sfu.forwarder import TrackForwarder
from arbiter_server.sfu.rtp import RTP_HEADER, extension_block
from arbiter_server.sfu.speakers import SpeakerDetector

from .test_forwarder import OPUS, FakeUpstream

pytestmark = pytest.mark.timeout(10)

LEVEL_ID = 1
PACKETS_PER_TICK = 12  # 20 ms Opus frames in 0.25 s


class Talker:
    """One participant's microphone: a forwarder fed 20 ms packets at a given level."""

    def __init__(self, pid: str, source: str = "microphone") -> None:
        self.forwarder = TrackForwarder(pid, "microphone", kind="audio", source=source, codec=OPUS)
        (self.layer,) = self.forwarder.new_layers([None], FakeUpstream())
        self.layer.audio_level_id = LEVEL_ID
        self.seq = 0

    def speak(self, dbov: int, packets: int = PACKETS_PER_TICK) -> None:
        """``packets`` packets at -``dbov`` dBov (127: silence)."""
        for _ in range(packets):
            self.seq += 1
            header = RTP_HEADER.pack(0x90, 111, self.seq & 0xFFFF, self.seq * 960, 1234)
            ext = extension_block([(LEVEL_ID, bytes([dbov]))])
            self.layer.receive(header + ext + b"\xfc" * 40, 0.0)


def test_voiced_packets_and_the_loudest_level_are_counted_per_window() -> None:
    talker = Talker("a")
    talker.speak(30, 4)
    talker.speak(127, 4)
    talker.speak(20, 2)
    assert talker.layer.take_activity() == (10, 6, 20)
    assert talker.layer.take_activity() == (0, 0, 127)


def test_the_loudest_speaker_comes_first_and_silence_is_absent() -> None:
    detector = SpeakerDetector()
    loud, soft, silent = Talker("loud"), Talker("soft"), Talker("silent")
    tracks = [loud.forwarder, soft.forwarder, silent.forwarder]
    loud.speak(15)
    soft.speak(35)
    silent.speak(127)
    assert detector.tick(tracks) == ["loud", "soft"]
    loud.speak(15)
    soft.speak(35)
    silent.speak(127)
    assert detector.tick(tracks) is None  # unchanged: nothing to send


def test_a_new_speaker_takes_over_and_the_old_one_fades_after_a_pause() -> None:
    detector = SpeakerDetector()
    a, b = Talker("a"), Talker("b")
    tracks = [a.forwarder, b.forwarder]
    a.speak(15)
    assert detector.tick(tracks) == ["a"]
    lists = []
    for _ in range(10):  # 2.5 s: a is quiet, b speaks
        a.speak(127)
        b.speak(15)
        lists.append(detector.tick(tracks) or detector.speakers)
    assert lists[1][0] == "b", lists  # b leads within two ticks (0.5 s)
    assert lists[-1] == ["b"], lists  # a has faded out ...
    assert "a" in lists[1], lists  # ... but not at once: a pause keeps a speaker listed


def test_a_blip_too_short_to_be_speech_and_screen_audio_make_no_speaker() -> None:
    detector = SpeakerDetector()
    cough, screen = Talker("cough"), Talker("screen", source="screen_audio")
    cough.speak(10, 2)
    cough.speak(127, 10)
    screen.speak(10)
    assert detector.tick([cough.forwarder, screen.forwarder]) is None
    assert detector.speakers == []
