"""SpeakerDetector: who is talking, from the audio levels publishers put in their RTP.

No audio is decoded. Every audio :class:`~.layer.Layer` notes, per packet, whether the
RFC 6464 level of its ``ssrc-audio-level`` header extension is voiced (at least
:data:`~.layer.VOICE_LEVEL`) and the loudest level (a few operations on bytes the layer
parses anyway). Once a tick (:data:`~.ticker.TICK`, 0.25 s) the detector takes those
counters of every published microphone and, per participant, scores the window: the
loudest level (as an amplitude) times the share of voiced packets, or 0 when fewer than
:data:`MIN_VOICED` of the packets were voiced (a cough, a click; or no packets: DTX
silence). The score is smoothed (:data:`SMOOTHING`), so a speaker appears within a tick
or two and stays for about 1.5 s after going quiet (pauses between words do not drop
them). Speakers are the participants whose smoothed score is above
:data:`SPEAKING_SCORE`, loudest first.
"""

from __future__ import annotations

from collections.abc import Iterable

from arbiter_protocol import MAX_SPEAKERS

from .forwarder import TrackForwarder
from .layer import VOICE_LEVEL

__all__ = ["MIN_VOICED", "SMOOTHING", "SPEAKING_SCORE", "SpeakerDetector"]

MIN_VOICED = 0.3
"Share of a window's packets that must be voiced for it to count as speech."

SMOOTHING = 0.5
"How far a participant's score moves towards each window's score (exponential smoothing)."

SPEAKING_SCORE = 0.5 * 10 ** (-VOICE_LEVEL / 20) * MIN_VOICED
"""Smoothed score above which a participant speaks: half of the quietest window that
counts as speech."""

SPEAKING_SOURCES = frozenset({"microphone", "unknown"})
"Sources of the audio tracks that make a participant a speaker (not a shared screen's)."


class SpeakerDetector:
    """Keeps the room's active speakers (see the module docstring).

    :meth:`tick` returns the new list when it changed; :attr:`speakers` is the current one.
    """

    def __init__(self) -> None:
        self._scores: dict[str, float] = {}
        self.speakers: list[str] = []
        "Participant ids, loudest first."

    def tick(self, tracks: Iterable[TrackForwarder]) -> list[str] | None:
        """Take the audio counters of ``tracks`` (every published track; others are
        skipped); the new speakers if they changed, else None."""
        windows: dict[str, float] = {}
        for forwarder in tracks:
            if forwarder.kind != "audio" or forwarder.source not in SPEAKING_SOURCES:
                continue
            score = 0.0
            for layer in forwarder.layers:
                packets, voiced, loudest = layer.take_activity()
                if packets and voiced >= MIN_VOICED * packets:
                    score = max(score, 10 ** (-loudest / 20) * voiced / packets)
            pid = forwarder.participant_id
            windows[pid] = max(windows.get(pid, 0.0), score)
        scores: dict[str, float] = {}
        for pid, window in windows.items():
            previous = self._scores.get(pid, 0.0)
            scores[pid] = previous + (window - previous) * SMOOTHING
        self._scores = scores
        speaking = sorted(
            (pid for pid, score in scores.items() if score > SPEAKING_SCORE),
            key=lambda pid: (-scores[pid], pid),
        )[:MAX_SPEAKERS]
        if speaking == self.speakers:
            return None
        self.speakers = speaking
        return speaking
