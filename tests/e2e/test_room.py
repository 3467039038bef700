"""Foundation acceptance: real rooms on the local stack, real aiortc peers, real UDP."""

from __future__ import annotations

import asyncio
import json

import pytest

from arbiter_client import Room
from arbiter_server.launcher import SubprocessLauncher
from arbiter_server.local import LocalStack
from tests.e2e.probe import MediaProbe

pytestmark = pytest.mark.timeout(90)

SIZES = [(320, 240), (352, 288), (384, 256), (416, 240)]


async def _join(stack: LocalStack, room_id: str, name: str, size: tuple[int, int]) -> Room:
    return await Room.join(stack.room_url(room_id), name=name, video_size=size, timeout=20)


async def _wait_sfu_state(stack: LocalStack, room_id: str, **expected: int) -> None:
    """Wait until the room's SFU process reports these counts in its state file."""
    launcher = stack.launcher
    assert isinstance(launcher, SubprocessLauncher)
    path = launcher.state_path(room_id)
    state: dict[str, int] = {}
    for _ in range(100):
        if path.exists():
            state = json.loads(path.read_text())
            if all(state.get(k) == v for k, v in expected.items()):
                assert state["peer_connections"] == state["producers"] + state["consumers"]
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"SFU state {state}, expected {expected}")


async def test_three_clients_get_each_others_media_then_a_fourth_joins_and_one_leaves(
    stack: LocalStack,
) -> None:
    await stack.create_room("trio")
    rooms = [await _join(stack, "trio", f"c{i}", SIZES[i]) for i in range(3)]
    probes = [MediaProbe(r) for r in rooms]
    try:
        sizes = {r.participant_id: SIZES[i] for i, r in enumerate(rooms)}
        # acceptance 1: each gets decodable video of the right size and audio from both others
        await asyncio.gather(
            *(
                p.wait_media({pid: s for pid, s in sizes.items() if pid != r.participant_id}, 10)
                for p, r in zip(probes, rooms, strict=True)
            )
        )

        # acceptance 2: a late joiner gets everyone; everyone gets the late joiner
        late = await _join(stack, "trio", "late", SIZES[3])
        late_probe = MediaProbe(late)
        rooms.append(late)
        probes.append(late_probe)
        sizes[late.participant_id] = SIZES[3]
        await asyncio.gather(
            late_probe.wait_media(
                {pid: s for pid, s in sizes.items() if pid != late.participant_id}, 10
            ),
            *(p.wait_media({late.participant_id: SIZES[3]}, 10) for p in probes[:3]),
        )

        # 4 participants: 4 producers and 4 consumers (each carries 3 x 2 tracks) on the SFU
        await _wait_sfu_state(
            stack, "trio", participants=4, producers=4, consumers=4, forwarded_tracks=24
        )

        # a client leaves: the others are told, and the SFU keeps nothing of it
        gone = rooms[1].participant_id
        await rooms[1].leave()
        for p in (probes[0], probes[2], probes[3]):
            await p.wait_for(lambda p=p: gone in p.left, 5)
            assert gone not in p.room.participants
        await _wait_sfu_state(
            stack, "trio", participants=3, producers=3, consumers=3, forwarded_tracks=12
        )
    finally:
        for p in probes:
            await p.close()
        for r in rooms:
            await r.leave()


async def test_two_rooms_stay_isolated_and_data_reaches_each_member_once(
    stack: LocalStack,
) -> None:
    await stack.create_room("ra")
    await stack.create_room("rb")
    a = [await _join(stack, "ra", f"a{i}", SIZES[i]) for i in range(3)]
    b = [await _join(stack, "rb", f"b{i}", SIZES[i]) for i in range(2)]
    probes = {r.participant_id: MediaProbe(r) for r in a + b}
    a_ids = {r.participant_id for r in a}
    b_ids = {r.participant_id for r in b}
    try:
        for r in a:
            await probes[r.participant_id].wait_media(
                {
                    pid: SIZES[i]
                    for i, pid in enumerate(x.participant_id for x in a)
                    if pid != r.participant_id
                },
                10,
            )
        for r in b:
            await probes[r.participant_id].wait_media(
                {
                    x.participant_id: SIZES[i]
                    for i, x in enumerate(b)
                    if x.participant_id != r.participant_id
                },
                10,
            )

        # each channel is ordered: a duplicate (or an echo) would come before what the SFU
        # relays after it, so a message sent after is the point where counting is exact
        a0, a1, b0, b1 = (r.participant_id for r in (a[0], a[1], b[0], b[1]))
        await a[0].send("hello room a")
        await a[0].send("end a")
        await b[0].send(b"\x00bytes for b")
        await b[0].send(b"end b")

        async def received(room: Room, count: int) -> list[tuple[str | None, object]]:
            p = probes[room.participant_id]
            await p.wait_for(lambda: len(p.data) >= count, 10)
            return [(d.sender, d.data) for d in p.data]

        for r in a[1:]:
            assert await received(r, 2) == [(a0, "hello room a"), (a0, "end a")]
        assert await received(b[1], 2) == [(b0, b"\x00bytes for b"), (b0, b"end b")]
        # replies to the senders come after anything the SFU would have echoed to them
        await a[1].send("reply a")
        await b[1].send(b"reply b")
        assert await received(a[0], 1) == [(a1, "reply a")]  # nothing of its own
        assert await received(b[0], 1) == [(b1, b"reply b")]
        assert (await received(a[2], 3))[2:] == [(a1, "reply a")]
        assert await received(a[1], 2) == [(a0, "hello room a"), (a0, "end a")]  # no echo

        # isolation: nobody ever saw a track or participant of the other room
        for r in a:
            p = probes[r.participant_id]
            assert not (set(p.video_sizes) | p.audio_from | set(p.joined)) & b_ids
            assert not set(r.participants) & b_ids
        for r in b:
            p = probes[r.participant_id]
            assert not (set(p.video_sizes) | p.audio_from | set(p.joined)) & a_ids
            assert not set(r.participants) & a_ids
    finally:
        for p in probes.values():
            await p.close()
        for r in a + b:
            await r.leave()


async def test_join_a_room_that_does_not_exist_is_a_clear_error(stack: LocalStack) -> None:
    from arbiter_client import RoomNotFound

    with pytest.raises(RoomNotFound, match="nowhere"):
        await Room.join(stack.room_url("nowhere"), name="x", timeout=10)


async def test_a_viewer_receives_but_cannot_publish(stack: LocalStack) -> None:
    from arbiter_client import NotPublishing

    await stack.create_room("talk")
    speaker = await _join(stack, "talk", "speaker", SIZES[0])
    viewer = await Room.join(
        stack.room_url("talk"), name="viewer", publish=None, grants=["subscribe"], timeout=20
    )
    probe = MediaProbe(viewer)
    try:
        await probe.wait_media({speaker.participant_id: SIZES[0]}, 10)
        # a viewer that asks to publish joins receiving only: the client sees the grant
        # (the SFU refuses media from such a token: tests/sfu/test_room.py)
        sneaky = await Room.join(
            stack.room_url("talk"), name="sneaky", grants=["subscribe"], timeout=20
        )
        try:
            assert sneaky.local_participant.video is None
            assert sneaky.local_participant.audio is None
            with pytest.raises(NotPublishing):
                await sneaky.set_camera_enabled(True)
            sneaky_probe = MediaProbe(sneaky)
            try:
                await sneaky_probe.wait_media({speaker.participant_id: SIZES[0]}, 10)
            finally:
                await sneaky_probe.close()
        finally:
            await sneaky.leave()
    finally:
        await probe.close()
        for r in (speaker, viewer):
            await r.leave()


async def test_a_message_sent_right_before_leave_arrives(stack: LocalStack) -> None:
    """``send`` then ``leave`` at once: the leave on signaling must not overtake the data
    (the SFU drops what a participant that left still had on its way). A 60 KB message
    takes SCTP several round trips; short ones were lost 2-4 times in 12 before leave
    waited for the SFU's acknowledgement."""
    url = await stack.create_room("last-words")
    listener = await Room.join(url, name="listener", video_size=(160, 120))
    got: list[object] = []
    listener.on("data_received", lambda e: got.append(e.data))
    try:
        sent: list[str] = []
        for i in range(3):
            speaker = await Room.join(url, name="speaker", video_size=(160, 120))
            for text in (f"last words {i}", str(i) * 60_000):
                await speaker.send(text)
                sent.append(text)
            await speaker.leave()
        async with asyncio.timeout(15):
            while len(got) < len(sent):
                await asyncio.sleep(0.05)
        assert got == sent
    finally:
        await listener.leave()
