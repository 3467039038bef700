"""Consumer: the one connection that carries every published track to one subscriber.

The SFU offers, the client answers. Each published track the subscriber receives has a
media section (a :class:`~.downtrack.DownTrack`); when tracks come and go the SFU offers
again (one negotiation at a time: changes made while an offer is out wait for its answer).
A section whose track went away is made ``inactive`` and reused for the next track of the
same kind and codec, keeping its SSRC and continuing its numbering. Every offer lists the
tracks it carries (``TrackInfo`` with ``mid`` and ``participant_id``); a section starts
carrying a track once the answer to the offer that announced it is applied.

RTCP from the subscriber is read directly (NACK, PLI/FIR, receiver reports, REMB) and
the SFU's sender reports are built here (see :mod:`.aiortc_hooks` for the plumbing).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCRtpTransceiver, RTCSessionDescription

from arbiter_protocol import TrackInfo
from arbiter_rtc import PeerConnection

from . import aiortc_hooks
from .bandwidth import LayerControl
from .codecs import consumer_codec_preferences
from .downtrack import DownTrack
from .forwarder import TrackForwarder
from .rtp import build_sdes, parse_rtcp
from .sdp import compact_bundle
from .subscriptions import Subscriptions

__all__ = ["Consumer", "consumer_configuration"]

logger = logging.getLogger(__name__)

ConsumerCallback = Callable[["Consumer"], None]


def consumer_configuration(base: RTCConfiguration) -> RTCConfiguration:
    """``base`` with every media section bundled on one transport from the start."""
    return RTCConfiguration(
        iceServers=base.iceServers,
        iceTransportPolicy=base.iceTransportPolicy,
        bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
    )


@dataclass(eq=False)
class _Section:
    """One media section: its transceiver and stream, and the track it carries."""

    transceiver: RTCRtpTransceiver
    downtrack: DownTrack
    codec_key: tuple[str, ...]
    track: TrackForwarder | None = None
    "The track assigned (carried once the answer announcing it is in)."
    offered: TrackForwarder | None = None
    "The track the last offer announced for it."


class Consumer(PeerConnection):
    """Carries published tracks to one subscriber over one sendonly ``RTCPeerConnection``.

    :meth:`add` / :meth:`remove` change what it carries; :meth:`negotiate` makes the
    offer for pending changes (None if there are none, or an answer is awaited);
    :meth:`accept_answer` applies the answer. ``on_failed`` is called once if the
    connection fails.
    """

    state_log_level = logging.INFO

    def __init__(
        self,
        subscriber_id: str,
        configuration: RTCConfiguration,
        *,
        on_failed: ConsumerCallback,
        wishes: Subscriptions | None = None,
    ) -> None:
        self.subscriber_id = subscriber_id
        super().__init__(consumer_configuration(configuration), on_failed)
        self.wishes = wishes or Subscriptions()
        "The subscriber's wishes (what to receive, at which quality)."
        self.layers = LayerControl()
        "Which layers the subscriber's bandwidth allows."
        self._sections: list[_Section] = []
        self._by_ssrc: dict[int, DownTrack] = {}
        self._transport: aiortc_hooks.SrtpTransport | None = None
        self._dirty = False
        self._cname = ""
        self.offers = 0
        "Offers made (the first and every renegotiation)."

    def __repr__(self) -> str:
        return f"Consumer(-> {self.subscriber_id}, {self.pc.connectionState})"

    # -- what it carries ----------------------------------------------------------------

    @property
    def tracks(self) -> list[TrackForwarder]:
        """The tracks assigned to this connection."""
        return [s.track for s in self._sections if s.track is not None]

    @property
    def downtracks(self) -> list[DownTrack]:
        """Every media section's stream (carrying a track or not)."""
        return [s.downtrack for s in self._sections]

    def downtrack(self, forwarder: TrackForwarder) -> DownTrack | None:
        """The stream assigned ``forwarder``'s track, if any."""
        section = self._section_of(forwarder)
        return section.downtrack if section is not None else None

    def _section_of(self, forwarder: TrackForwarder) -> _Section | None:
        return next((s for s in self._sections if s.track is forwarder), None)

    @property
    def needs_offer(self) -> bool:
        """True if changes wait for an offer."""
        return self._dirty and not self.closed

    def add(self, forwarder: TrackForwarder) -> bool:
        """Carry ``forwarder``'s track (announced in the next offer); False if it already is."""
        if self.closed or forwarder.closed or self._section_of(forwarder) is not None:
            return False
        section = next(
            (
                s
                for s in self._sections
                if s.track is None
                and s.downtrack.kind == forwarder.kind
                and s.codec_key == forwarder.codec_key
            ),
            None,
        )
        if section is None:
            transceiver = self.pc.addTransceiver(forwarder.kind, direction="sendonly")
            transceiver.setCodecPreferences(consumer_codec_preferences(forwarder.codec))
            ssrc, rtx_ssrc = aiortc_hooks.sender_ssrcs(transceiver.sender)
            downtrack = DownTrack(forwarder.kind, ssrc, rtx_ssrc)
            section = _Section(transceiver, downtrack, forwarder.codec_key)
            aiortc_hooks.hold_sender(transceiver.sender, self._activator(downtrack))
            aiortc_hooks.hold_receiver(transceiver.receiver)  # sendonly: it never receives
            self._sections.append(section)
            self._by_ssrc[ssrc] = downtrack
            self._by_ssrc[rtx_ssrc] = downtrack
        else:
            section.transceiver.direction = "sendonly"
        section.track = forwarder
        aiortc_hooks.set_msid(
            section.transceiver.sender,
            forwarder.participant_id,
            f"{forwarder.participant_id}.{forwarder.track_id}",
        )
        self._dirty = True
        return True

    def remove(self, forwarder: TrackForwarder) -> bool:
        """Stop carrying ``forwarder``'s track now; its section goes inactive in the next
        offer (and may carry another track later). False if it was not carried."""
        section = self._section_of(forwarder)
        if section is None:
            return False
        section.track = None
        section.downtrack.detach()
        section.transceiver.direction = "inactive"
        self._dirty = True
        return True

    def apply_wishes(self) -> None:
        """Pause, resume or change the quality of each stream as :attr:`wishes` say."""
        for section in self._sections:
            forwarder = section.downtrack.forwarder
            if forwarder is None:
                continue
            wish = self.wishes.wish(forwarder.participant_id, forwarder.track_id)
            section.downtrack.set_wish(wish.receives(forwarder.kind), wish.quality)

    # -- negotiation --------------------------------------------------------------------

    async def negotiate(self) -> tuple[RTCSessionDescription, list[TrackInfo]] | None:
        """An offer for the pending changes, and the tracks it carries; None if nothing
        is pending or an offer still waits for its answer."""
        if not self._dirty or self.closed or self.pc.signalingState != "stable":
            return None
        self._dirty = False
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        self.offers += 1
        tracks = []
        for section in self._sections:
            section.offered = section.track
            forwarder = section.track
            mid = section.transceiver.mid
            if forwarder is None or mid is None:
                continue
            tracks.append(
                TrackInfo(
                    id=forwarder.track_id,
                    kind="video" if forwarder.kind == "video" else "audio",
                    source=forwarder.source,
                    mid=mid,
                    participant_id=forwarder.participant_id,
                )
            )
        local: RTCSessionDescription = self.pc.localDescription
        return RTCSessionDescription(compact_bundle(local.sdp), local.type), tracks

    def last_offer(self) -> tuple[RTCSessionDescription, list[TrackInfo]] | None:
        """The offer still waiting for an answer (to send again), if any."""
        if self.pc.signalingState != "have-local-offer":
            return None
        tracks = [
            TrackInfo(
                id=s.offered.track_id,
                kind="video" if s.offered.kind == "video" else "audio",
                source=s.offered.source,
                mid=s.transceiver.mid,
                participant_id=s.offered.participant_id,
            )
            for s in self._sections
            if s.offered is not None and s.transceiver.mid is not None
        ]
        local: RTCSessionDescription = self.pc.localDescription
        return RTCSessionDescription(compact_bundle(local.sdp), local.type), tracks

    async def accept_answer(self, answer: RTCSessionDescription) -> None:
        """Apply the subscriber's answer: announced tracks start flowing (once DTLS is up)."""
        await self.pc.setRemoteDescription(answer)
        if self._transport is None:
            dtls = next(
                (t.receiver.transport for t in self.pc.getTransceivers() if t.mid is not None),
                None,
            )
            if dtls is not None:
                aiortc_hooks.tap(dtls, None, self._on_rtcp)
                self._transport = aiortc_hooks.SrtpTransport(dtls)
        for section in self._sections:
            if section.offered is not None and section.offered is section.track:
                downtrack = section.downtrack
                if downtrack.forwarder is not section.track:
                    forwarder = section.track
                    wish = self.wishes.wish(forwarder.participant_id, forwarder.track_id)
                    downtrack.paused = not wish.receives(forwarder.kind)
                    downtrack.quality = wish.quality
                    downtrack.attach(forwarder)

    def _activator(self, downtrack: DownTrack) -> Callable[[aiortc_hooks.SendParameters], None]:
        return lambda parameters: self._activate(downtrack, parameters)

    def _activate(self, downtrack: DownTrack, parameters: aiortc_hooks.SendParameters) -> None:
        transport = self._transport
        if transport is None or self.closed:
            return
        self._cname = parameters.cname or self._cname
        downtrack.activate(parameters, transport)

    # -- feedback -----------------------------------------------------------------------

    def _video(self) -> list[DownTrack]:
        return [s.downtrack for s in self._sections if s.downtrack.kind == "video"]

    def _on_rtcp(self, data: bytes) -> None:
        feedback = parse_rtcp(data)
        by_ssrc = self._by_ssrc
        for media, lost in feedback.nacks:
            downtrack = by_ssrc.get(media)
            if downtrack is not None:
                downtrack.retransmit(lost)
        for media in feedback.keyframe_requests:
            downtrack = by_ssrc.get(media)
            if downtrack is not None:
                downtrack.keyframe_requested()
        now = time.monotonic()
        worst = 0
        for block in feedback.reports:
            downtrack = by_ssrc.get(block.ssrc)
            if downtrack is not None:
                downtrack.report(block.fraction_lost, block.lsr, block.dlsr)
                if downtrack.kind == "video":
                    worst = max(worst, block.fraction_lost)
        if worst:
            self.layers.on_loss(worst, self._video(), now)
        if feedback.remb is not None:
            self.layers.on_remb(feedback.remb[0], self._video(), now)

    def rtcp_tick(self, now: float) -> None:
        """Periodic: sender reports of the streams that sent something; layer probing."""
        transport = self._transport
        if transport is None or self.closed:
            return
        reports = [
            report
            for section in self._sections
            if (report := section.downtrack.sender_report(now)) is not None
        ]
        if reports:
            first_ssrc = int.from_bytes(reports[0][4:8], "big")
            transport.send_rtcp(b"".join(reports) + build_sdes(first_ssrc, self._cname))
        self.layers.tick(self._video(), now)

    async def _release(self) -> None:
        for section in self._sections:
            section.downtrack.close()
            section.track = None
