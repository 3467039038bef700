"""RoomConnection: what a :class:`~arbiter_client.Room` is made of, and its life.

It builds the parts (each with one job), routes signaling to them and keeps the room's
state: the :class:`~._session.Session` (signaling: join, identify, the dispatch table,
resume), the :class:`~._link.MediaLink` (the producer and consumer connections), the
:class:`~._roster.Roster` (the other participants), the :class:`~._hub.EventHub` (where
events go) and the :class:`~._publish.LocalMedia` (what is published). It joins, reacts
to what signaling and the connections report, and closes everything exactly once.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Sequence

from arbiter_protocol import (
    Error,
    ErrorCode,
    Grant,
    Handshake,
    Identified,
    Identify,
    Lobby,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    Removed,
    SfuReady,
    TrackState,
)
from arbiter_rtc import IceTransportPolicy, TaskSet

from . import _events as ev
from ._attachment import Attachment
from ._data import DataReader
from ._events import ConnectionState, Event
from ._exceptions import AdmissionDenied, ArbiterError, ConnectionLost, RoomClosed, error_from_code
from ._hub import EventHub
from ._link import MediaLink
from ._moderation import Moderation
from ._participant import LocalParticipant
from ._producer import Producer
from ._progress import Progress, RoomLog, set_result
from ._publish import LocalMedia
from ._roster import Roster
from ._session import Session

__all__ = ["RoomConnection", "RoomState"]


class RoomState(enum.Enum):
    """Where a :class:`Room` is in its life; it only moves forward."""

    JOINING = "joining"
    "``Room.join`` is in progress."
    CONNECTED = "connected"
    "Joined: the producer connection is up (it stays so while reconnecting)."
    CLOSING = "closing"
    "Leaving, or the connection was lost: connections are being closed."
    CLOSED = "closed"
    "Every connection is closed and every task has ended; the room cannot be reused."


class RoomConnection:
    """One participant's connection to one room, made of parts with one job each.

    Used once: :meth:`connect` joins, :meth:`close` (or a fatal error, :meth:`fail`)
    ends it. ``state`` only moves forward; ``connection_state`` is what users see.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str,
        media: LocalMedia,
        timeout: float,
        reconnect_timeout: float,
        ice_transport_policy: IceTransportPolicy,
        grants: Sequence[Grant] | None,
        grant: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._name = name
        self.state = RoomState.JOINING
        self.connection_state: ConnectionState = "connecting"
        self.room_id: str | None = None
        self.local: LocalParticipant | None = None
        self._reconnect_timeout = reconnect_timeout
        self._sfu_ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._close_task: asyncio.Task[None] | None = None
        self._close_reason = "left"
        self._removed: Removed | None = None
        self.grants: tuple[Grant, ...] = ()
        "What this participant may do (from the join response)."
        self.on_waiting: Callable[[bool], None] = lambda waiting: None
        "Called with True when the server puts this client in the lobby, False when admitted."
        self.waiting = False
        "True while this client waits in the room's lobby."
        self.attachments: list[Attachment] = []
        self.log = RoomLog(self._ident)
        self.tasks = TaskSet("arbiter-client")
        self.progress = Progress()
        self.hub = EventHub()
        self.media = media
        self.roster = Roster(self._emit, self.tasks, self.log)
        self.session = Session(
            self.url,
            name=name,
            grants=grants,
            grant=grant,
            timeout=timeout,
            reconnect_timeout=reconnect_timeout,
            tasks=self.tasks,
            progress=self.progress,
            log=self.log,
            may_resume=lambda: self.state is RoomState.CONNECTED and self._close_task is None,
            on_identified=self._on_identified,
            on_waiting=self._on_waiting,
            on_lost=lambda reason: self._set_connection_state("reconnecting", reason),
            on_resumed=self._on_resumed,
            on_failed=self.fail,
        )
        self.link = MediaLink(
            self.media,
            policy=ice_transport_policy,
            budget=reconnect_timeout or timeout,
            session=self.session,
            roster=self.roster,
            tasks=self.tasks,
            progress=self.progress,
            log=self.log,
            on_message=DataReader(self._emit, self.roster, self.log, self._on_own_state),
            on_failure=self._on_media_failure,
            active=lambda: self.state is RoomState.CONNECTED,
            report=lambda reason: self._set_connection_state("reconnecting", reason),
            settled=self._maybe_reconnected,
            fail=self.fail,
        )
        self.moderation = Moderation(self.session.send, self._emit, self.progress)
        self.session.route(SfuReady, lambda _: self._on_sfu_ready())
        self.session.route(Handshake, self.link.handshake)
        self.session.route(
            ParticipantJoined,
            lambda m: self.roster.joined(m.participant.id, m.participant.name, m.participant),
        )
        self.session.route(ParticipantLeft, self._on_left)
        self.session.route(ParticipantUpdated, lambda m: self.roster.updated(m.participant))
        self.session.route(Lobby, self.moderation.lobby)
        self.session.route(Removed, self._on_removed)
        self.session.route(Error, self._on_error)

    def _emit(self, event: Event) -> None:
        self.hub.emit(event)
        self.moderation.changed()

    async def connect(self) -> None:
        """Join: the Room API, signaling, then the producer connection."""
        response = await self.session.join()
        self.room_id = response.room_id
        self.grants = tuple(response.grants or ())
        self._name = response.name or self._name  # a grant names the participant
        if response.grants is not None and "publish" not in response.grants:
            if self.media.tracks():
                self.log.info("joined without the publish grant: receiving only")
            self.media.withhold()  # the SFU would refuse the media (as the web SDK does)
        await self.session.open(response)
        participant_id = self.session.participant_id
        assert participant_id is not None
        self.roster.local_id = participant_id
        self.local = LocalParticipant(
            participant_id, self._name, self.media.video, self.media.audio
        )
        self.roster.local = self.local
        while True:
            if not self._sfu_ready.done():
                self.log.debug("waiting for the SFU")
                self.progress.step = "sfu_ready"
                await self.progress.until(self._sfu_ready)
            try:
                await self.link.start()
                break
            except ArbiterError as exc:
                if exc.code != ErrorCode.SFU_UNAVAILABLE.value:
                    raise
                # the SFU's socket went away under the offer: the server owes us its
                # sfu_ready (awaited from the refusal on, see _on_error), then we offer again
                self.log.debug("the SFU went away while joining; waiting for it")
                self.link.discard()
        self.state = RoomState.CONNECTED
        self._set_connection_state("connected", None)
        self.log.debug("joined")

    def require_connected(self, what: str) -> None:
        """:class:`RoomClosed` naming ``what`` unless the room is connected."""
        if self.state is not RoomState.CONNECTED:
            raise RoomClosed(f"cannot {what}: the room is {self.state.value}")

    def producer(self, what: str) -> Producer:
        """The producer, its data channel open, or :class:`ConnectionLost` naming ``what``."""
        self.require_connected(what)
        producer = self.link.producer
        if producer is None or not producer.channel_open:
            raise ConnectionLost(f"cannot {what}: the data channel is not open")
        return producer

    async def wait_closed(self) -> None:
        """Wait until the room is closed (left, or the connection was lost)."""
        if self.state is RoomState.CLOSED:
            return
        await self.progress.wait_failed()
        if self._close_task is not None:
            await asyncio.shield(self._close_task)

    def attach(self, attachment: Attachment) -> None:
        """See ``Room.attach``."""
        if self.state in (RoomState.CLOSING, RoomState.CLOSED):
            raise RoomClosed(f"cannot attach to a room that is {self.state.value}")
        if attachment not in self.attachments:
            self.attachments.append(attachment)

    # ------------------------------------------------------------------ signaling

    def _on_identified(self, message: Identified) -> None:
        own = message.participant_id
        self.roster.local_id = own
        if self.waiting:
            self.waiting = False
            self.on_waiting(False)
        for info in message.participants:
            if info.id != own:
                self.roster.joined(info.id, info.name, info)
        if message.sfu_ready:
            set_result(self._sfu_ready, None)

    def _on_sfu_ready(self) -> None:
        if self.state is RoomState.JOINING:
            set_result(self._sfu_ready, None)
        elif self.state is RoomState.CONNECTED:
            self.link.restart("the room has a new SFU")

    def _on_waiting(self, message: Identified) -> None:
        self.log.info("waiting in the lobby of %s for a moderator", message.room_id)
        self.waiting = True
        self.on_waiting(True)

    def _on_left(self, message: ParticipantLeft) -> None:
        participant = self.roster.get(message.participant_id)
        if message.reason == "removed" and participant is not None:
            self._emit(ev.ParticipantRemoved(participant=participant, by=message.by))
        self._remove(message.participant_id, message.reason)

    def _on_removed(self, message: Removed) -> None:
        """The server ended this client's session (removed, room ended, denied)."""
        self._removed = message
        self.log.warning("%s by %s: %s", message.reason, message.by, message.message or "-")
        if message.reason == "denied":
            why = f": {message.message}" if message.message else ""
            self.fail(AdmissionDenied(f"a moderator did not admit you{why}", by=message.by))
        else:
            self.fail(ConnectionLost(message.reason, code=message.reason))

    def _on_own_state(self, message: TrackState) -> None:
        """A moderator locked this client's audio or video (``by``), or lifted the lock."""
        local, kind = self.local, message.kind
        if local is None:
            return
        if message.by is not None:
            track = self.media.track(kind)
            if track is not None:
                track.set_muted(True)
            local._locked[kind] = message.by
        elif local._locked.pop(kind, None) is None:
            return
        main = "microphone" if kind == "audio" else "camera"
        self._emit(
            ev.TrackMuted(participant=local, kind=kind, muted=True, track_id=main, by=message.by)
        )

    def _remove(self, participant_id: str, reason: str) -> None:
        self.tasks.spawn(
            self.link.remove(participant_id, reason), f"participant-left:{participant_id}"
        )

    def _on_error(self, message: Error) -> None:
        if self.moderation.refused(message):
            return
        if message.code == ErrorCode.SESSION_EXPIRED.value:
            # the server ends the session (and closes the socket): no retry, no leave
            self.fail(ConnectionLost("session_expired", code=message.code))
            return
        exc = error_from_code(message.code, message.message)
        joining = self.state is RoomState.JOINING
        refused = (
            message.ref == Handshake.action and message.code == ErrorCode.SFU_UNAVAILABLE.value
        )
        if joining and message.ref in (None, Identify.action, Handshake.action) and not refused:
            self.fail(exc)
            return
        if refused:  # an offer that found no SFU: offered again after its sfu_ready
            if joining and self._sfu_ready.done():  # its sfu_ready may come next
                self._sfu_ready = asyncio.get_running_loop().create_future()
            self.link.refused(message.code, exc)
        self.log.warning("server error %s (ref %s): %s", message.code, message.ref, message.message)
        self.hub.emit(ev.ErrorReceived(code=message.code, message=message.message, ref=message.ref))

    def _on_resumed(self, identified: Identified) -> None:
        """Signaling is back: catch up on who is here, and check the media."""
        own = self.session.participant_id
        present = {p.id: p for p in identified.participants if p.id != own}
        for participant_id in self.roster.absent(present):  # left while we were away
            self._remove(participant_id, "left")
        for participant_id, info in present.items():  # renames and hands missed too
            self.roster.joined(participant_id, info.name, info)
        self.log.debug(
            "signaling back (resumed=%s, sfu_ready=%s)", identified.resumed, identified.sfu_ready
        )
        if not identified.resumed:  # the server dropped us meanwhile: set media up again
            if identified.sfu_ready:
                self.link.restart("rejoined as a new session")
            else:
                self.link.lost("rejoined while the SFU is away")  # its sfu_ready restarts
        # resumed while the SFU is not ready: its own socket is away (the media is fine
        # meanwhile), or a new SFU is starting, whose sfu_ready restarts the media
        self._maybe_reconnected()

    def _on_media_failure(self, reason: str) -> None:
        if self.state is RoomState.JOINING or (
            self.state is RoomState.CONNECTED and self._reconnect_timeout <= 0
        ):
            self.fail(ConnectionLost(reason))
        elif self.state is RoomState.CONNECTED:
            self.link.heal(reason)  # a new producer connection (or, if the SFU is gone, a new SFU)

    def _maybe_reconnected(self) -> None:
        if self.state is RoomState.CONNECTED and not (self.session.down or self.link.down):
            self._set_connection_state("reconnected", None)

    def _set_connection_state(self, state: ConnectionState, reason: str | None) -> None:
        if state == self.connection_state:
            return
        self.log.debug("connection state %s -> %s", self.connection_state, state)
        self.connection_state = state
        self.hub.emit(ev.ConnectionStateChanged(state=state, reason=reason))

    def _ident(self) -> str:
        pid = self.local.id if self.local is not None else "-"
        return f"{self.room_id or self.url} {pid}"

    # ------------------------------------------------------------------ closing

    async def close(self, reason: str) -> None:
        """Close the room (once; later calls wait for the same close)."""
        if self._close_task is None:
            self._close_reason = reason
            self.session.begin_close()
            self._close_task = asyncio.get_running_loop().create_task(
                self._shutdown(send_leave=reason in ("left", "join failed")),
                name="arbiter-client:close",
            )
        await asyncio.shield(self._close_task)

    def fail(self, exc: ArbiterError) -> None:
        """Something fatal happened: wake every waiter and, once joined, close the room."""
        self.progress.fail(exc)
        if self.state is RoomState.CONNECTED and self._close_task is None:
            self.log.warning("connection lost: %s", exc)
            self._close_reason = str(exc)
            self.session.begin_close()
            self._close_task = asyncio.get_running_loop().create_task(
                self._shutdown(send_leave=False), name="arbiter-client:close"
            )

    async def _shutdown(self, *, send_leave: bool) -> None:
        self.state = RoomState.CLOSING
        self.progress.fail(RoomClosed(f"the room is closed ({self._close_reason})"))
        for attachment in list(self.attachments):
            try:
                await attachment.stop()
            except Exception as exc:
                self.log.warning("stopping %r failed: %r", attachment, exc)
        self.attachments.clear()
        await self.tasks.close()
        if send_leave:  # the SFU must have our last data before it hears we left
            await self.link.flush()
        # at once, each bounded in time: a gone gateway, SFU or TURN server delays nothing
        await asyncio.gather(self.session.close(send_leave=send_leave), self.link.close())
        self.media.close()
        self.roster.unsubscribe()
        self.state = RoomState.CLOSED
        self._set_connection_state("disconnected", self._close_reason)
        removed = self._removed
        self.hub.emit(
            ev.Disconnected(
                reason=self._close_reason,
                by=removed.by if removed else None,
                message=removed.message if removed else None,
            )
        )
        self.hub.end()
        self.log.debug("closed: %s", self._close_reason)
