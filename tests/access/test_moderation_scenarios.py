"""Moderation end to end: Python clients, real SFU processes, real media (marker ``scenarios``).

A moderator (its grant holds ``moderator``) mutes and removes a participant from its own
client; every client shows what happened, and the SFU enforces it: a held-muted track is
no longer forwarded and cannot be unmuted by its owner. A participant without the grant
is refused with ``forbidden``. Ending the room disconnects everyone and deletes it.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from arbiter_client import (
    Disconnected,
    MutedByModerator,
    ParticipantLeft,
    ParticipantRemoved,
    Room,
    TrackMuted,
    TrackSubscribed,
    Unauthorized,
)
from arbiter_server.local import LocalStack

from .helpers import MODERATOR, Collector, grant, running_stack, within

pytestmark = [pytest.mark.scenarios, pytest.mark.timeout(120)]


async def _join(stack: LocalStack, room: str, who: str, grants: tuple[str, ...]) -> Room:
    token = grant(stack, room, who, grants=grants)  # type: ignore[arg-type]
    return await Room.join(stack.room_url(room), token=token, video_size=(320, 240), timeout=20)


async def test_a_moderator_mutes_and_removes_and_every_client_sees_it(tmp_path: Path) -> None:
    async with running_stack(tmp_path) as stack:
        await stack.create_room("class", private=True)
        teacher = await _join(stack, "class", "teacher", MODERATOR)
        pupil = await _join(stack, "class", "pupil", ("publish", "subscribe", "data", "screen"))
        peer = await _join(stack, "class", "peer", ("publish", "subscribe", "data", "screen"))
        rooms = [teacher, pupil, peer]
        seen = {r.participant_id: Collector(r) for r in rooms}
        try:
            # everyone sees the pupil's identity from its grant, and gets its video
            for r in (teacher, peer):
                event = await seen[r.participant_id].wait_for(
                    lambda e: (
                        isinstance(e, TrackSubscribed)
                        and e.participant.id == pupil.participant_id
                        and e.kind == "audio"
                    ),
                    "the pupil's audio",
                )
                assert isinstance(event, TrackSubscribed)
                assert event.participant.identity == "pupil"
            assert teacher.is_moderator and not pupil.is_moderator

            # a participant without the grant is refused by signaling
            with pytest.raises(Unauthorized, match="only a moderator"):
                await peer.remove_participant(pupil.participant_id)

            # the teacher holds the pupil's microphone muted
            await teacher.mute_participant(pupil.participant_id, "audio")
            for r in (teacher, peer):
                muted = await seen[r.participant_id].wait_for(
                    lambda e: (
                        isinstance(e, TrackMuted)
                        and e.participant.id == pupil.participant_id
                        and e.by == teacher.participant_id
                    ),
                    "the pupil's audio held muted",
                )
                assert isinstance(muted, TrackMuted) and muted.muted and muted.kind == "audio"
                assert r.participants[pupil.participant_id].locked == {
                    "audio": teacher.participant_id
                }
            own = await seen[pupil.participant_id].wait_for(
                lambda e: isinstance(e, TrackMuted) and e.participant.id == pupil.participant_id,
                "the pupil told its audio is held muted",
            )
            assert isinstance(own, TrackMuted) and own.by == teacher.participant_id
            assert pupil.local_participant.audio_muted  # it stopped sending sound
            with pytest.raises(MutedByModerator):
                await pupil.set_microphone_enabled(True)
            # lifting the lock lets the pupil unmute again
            await teacher.mute_participant(pupil.participant_id, "audio", muted=False)
            await seen[pupil.participant_id].wait_for(
                lambda e: (
                    isinstance(e, TrackMuted)
                    and e.participant.id == pupil.participant_id
                    and e.by is None
                ),
                "the lock lifted",
            )
            await pupil.set_microphone_enabled(True)

            # the teacher removes the pupil: it ends, the others see who did it
            await teacher.remove_participant(pupil.participant_id, reason="off topic")
            end = await seen[pupil.participant_id].wait_for(
                lambda e: isinstance(e, Disconnected), "the pupil's Disconnected"
            )
            assert end == Disconnected(
                reason="removed", by=teacher.participant_id, message="off topic"
            )
            for r in (teacher, peer):
                removed = await seen[r.participant_id].wait_for(
                    lambda e: isinstance(e, ParticipantRemoved), "ParticipantRemoved"
                )
                assert isinstance(removed, ParticipantRemoved)
                assert removed.participant.id == pupil.participant_id
                assert removed.by == teacher.participant_id
                left = await seen[r.participant_id].wait_for(
                    lambda e: isinstance(e, ParticipantLeft), "ParticipantLeft"
                )
                assert isinstance(left, ParticipantLeft) and left.reason == "removed"
            # its session is over: it cannot come back on its refresh credential
            assert pupil.state.value == "closed"

            # ending the room disconnects everyone and deletes it
            await teacher.end_room(reason="class is over")
            for r in (teacher, peer):
                ended = await seen[r.participant_id].wait_for(
                    lambda e: isinstance(e, Disconnected), "Disconnected"
                )
                assert isinstance(ended, Disconnected) and ended.reason == "room_ended"
                assert ended.by == teacher.participant_id
            async with httpx.AsyncClient() as http:
                gone = await http.get(stack.room_url("class"))
            assert gone.status_code == 404
        finally:
            for c in seen.values():
                await c.close()
            for r in rooms:
                await within(r.leave(), "leave")
