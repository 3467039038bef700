"""The SFU Room end to end: real aiortc peers over loopback UDP, in-memory signaling."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest

from arbiter_protocol import (
    DataMessage,
    Error,
    Handshake,
    ParticipantInfo,
    ParticipantJoined,
    ParticipantLeft,
    TrackState,
)
from arbiter_server.sfu import room as room_module
from arbiter_server.sfu.layer import CATCH_UP_WINDOW

from .conftest import CodecCounts, Harness
from .peers import Peer

pytestmark = pytest.mark.timeout(30)

# Each publisher's video has its own size and luma, so frames can be attributed.
LOOKS: dict[str, tuple[tuple[int, int], int]] = {
    "alice": ((320, 240), 40),
    "bob": ((352, 288), 128),
    "carol": ((256, 192), 210),
}


async def join_all(harness: Harness, ids: list[str]) -> dict[str, Peer]:
    peers = {}
    for pid in ids:
        size, luma = LOOKS[pid]
        peers[pid] = await harness.join(pid, size=size, luma=luma)
    return peers


async def assert_media_from(peer: Peer, producer_id: str, frames: int = 10) -> None:
    got = await peer.wait_media(producer_id, video=frames, audio=frames)
    size, luma = LOOKS[producer_id]
    assert got.sizes == {size}, f"{peer.id} got sizes {got.sizes} from {producer_id}"
    assert got.lumas and all(abs(v - luma) < 25 for v in got.lumas), got.lumas


async def test_three_peers_receive_each_other_without_transcoding(
    harness: Harness, codec_counts: CodecCounts
) -> None:
    peers = await join_all(harness, ["alice", "bob", "carol"])

    await asyncio.gather(
        *(
            assert_media_from(peer, other)
            for peer in peers.values()
            for other in peers
            if other != peer.id
        )
    )

    stats = harness.room.stats()
    # one producer and one consumer connection per participant
    assert (stats.participants, stats.producers, stats.consumers) == (3, 3, 3)
    assert stats.peer_connections == 6
    assert (stats.forwarders, stats.forwarded_tracks) == (6, 12)
    # Only the clients decode and encode: 3 peers x 2 others x (VP8 + Opus) decoders
    # and 3 peers x (VP8 + Opus) encoders. The SFU would add 6 decoders and 12 encoders.
    assert codec_counts.decoders == {"video/vp8": 6, "audio/opus": 6}
    assert codec_counts.encoders == {"video/vp8": 3, "audio/opus": 3}
    # ...and the SFU really forwarded the packets it received.
    for pid in peers:
        for forwarder in harness.room.tracks(pid):
            assert forwarder.stats().packets > 0
            assert forwarder.stats().subscribers == 2


async def test_leaving_peer_is_fully_cleaned_up(harness: Harness) -> None:
    peers = await join_all(harness, ["alice", "bob", "carol"])
    await asyncio.gather(
        assert_media_from(peers["alice"], "carol", 3),
        assert_media_from(peers["bob"], "carol", 3),
        assert_media_from(peers["carol"], "alice", 3),
    )
    carol = harness.room.participant("carol")
    assert carol is not None and carol.producer is not None and carol.consumer is not None
    carol_pcs = [carol.producer.pc, carol.consumer.pc]
    carol_forwarders = harness.room.tracks("carol")
    carol_streams = [d for f in carol_forwarders for d in list(f.downtracks)]
    assert len(carol_streams) == 4 and harness.room.connection_count("carol") == 2
    others = [harness.room.participant(pid) for pid in ("alice", "bob")]
    offers = {p.id: p.consumer.offers for p in others if p is not None and p.consumer}

    await harness.leave("carol")

    assert harness.room.connection_count("carol") == 0
    assert harness.room.participant("carol") is None
    assert all(pc.connectionState == "closed" for pc in carol_pcs)
    assert all(f.closed for f in carol_forwarders)
    assert all(d.forwarder is None for d in carol_streams)  # their sections carry nothing
    stats = harness.room.stats()
    assert (stats.participants, stats.producers, stats.consumers) == (2, 2, 2)
    assert (stats.forwarders, stats.forwarded_tracks) == (4, 4)
    # alice and bob were offered their connection again without carol's tracks
    for p in others:
        assert p is not None and p.consumer is not None
        assert p.consumer.offers == offers[p.id] + 1
        assert {f.participant_id for f in p.consumer.tracks} == {"alice", "bob"} - {p.id}
    # The others keep receiving each other.
    before = peers["alice"].got("bob").video_frames
    await peers["alice"].wait_media("bob", video=before + 10, audio=0)


async def test_data_messages_are_relayed_exactly_once(harness: Harness) -> None:
    peers = await join_all(harness, ["alice", "bob", "carol"])
    await asyncio.gather(*(asyncio.wait_for(p.channel_open.wait(), 10) for p in peers.values()))
    # The SFU side of every channel is open once its pc connected; wait for that too.
    for pid in peers:
        participant = harness.room.participant(pid)
        assert participant is not None and participant.producer is not None
        producer = participant.producer
        await asyncio.wait_for(_until(lambda p=producer: p.channel is not None), 10)
    alice, bob, carol = peers["alice"], peers["bob"], peers["carol"]

    alice.send_message(DataMessage(kind="text", data="hello all", id="m1", topic="chat"))
    alice.send_message(DataMessage(kind="text", data="only carol", id="m2", to=["carol", "carol"]))
    alice.send_message(DataMessage(kind="text", data="forged", id="m3", sender="bob"))
    alice.send_message(DataMessage(kind="text", data="end", id="end"))
    for peer in (bob, carol):
        await peer.wait_data(partial(got_id, peer, "end"))

    assert [(m.id, m.sender) for m in bob.data] == [
        ("m1", "alice"),
        ("m3", "alice"),
        ("end", "alice"),
    ]
    assert [(m.id, m.sender) for m in carol.data] == [
        ("m1", "alice"),
        ("m2", "alice"),
        ("m3", "alice"),
        ("end", "alice"),
    ]
    assert bob.data[0].topic == "chat" and bob.data[0].data == "hello all"
    assert alice.data == [] and alice.errors == []

    # Invalid messages get an error back on the sender's channel and go nowhere.
    bob.send_data("not json")
    bob.send_data('{"action": "data", "v": 1, "kind": "text", "data": "x"}')
    bob.send_data('{"action": "handshake", "v": 1, "connection": "producer"}')
    bob.send_message(DataMessage(kind="text", data="to ghost", id="g1", to=["ghost"]))
    await bob.wait_data(lambda: len(bob.errors) == 4)
    assert [e.code for e in bob.errors] == [
        "malformed_json",
        "invalid_message",
        "unknown_action",
        "participant_not_found",
    ]
    carol_ids = [m.id for m in carol.data]
    bob.send_message(DataMessage(kind="text", data="end2", id="end2", to=["carol"]))
    await carol.wait_data(lambda: any(m.id == "end2" for m in carol.data))
    assert [m.id for m in carol.data] == [*carol_ids, "end2"]
    assert [m.id for m in alice.data] == []


async def test_track_state_is_relayed_and_repeated_to_late_joiners(harness: Harness) -> None:
    peers = await join_all(harness, ["alice", "bob"])
    alice, bob = peers["alice"], peers["bob"]
    await asyncio.gather(*(asyncio.wait_for(p.channel_open.wait(), 10) for p in peers.values()))

    alice.send_message(TrackState(kind="audio", muted=True, sender="bob"))
    alice.send_message(TrackState(kind="video", muted=True))
    alice.send_message(TrackState(kind="video", muted=False))
    await bob.wait_data(lambda: len(bob.track_states) == 3)
    assert [(t.kind, t.muted, t.sender) for t in bob.track_states] == [
        ("audio", True, "alice"),
        ("video", True, "alice"),
        ("video", False, "alice"),
    ]
    assert alice.track_states == []

    # A late joiner gets alice's latest state per kind as soon as its channel opens.
    size, luma = LOOKS["carol"]
    carol = await harness.join("carol", size=size, luma=luma)
    await carol.wait_data(lambda: len(carol.track_states) == 2, timeout=10)
    assert sorted((t.kind, t.muted, t.sender) for t in carol.track_states) == [
        ("audio", True, "alice"),
        ("video", False, "alice"),
    ]
    bob.send_data('{"action": "track_state", "v": 1, "kind": "screen", "muted": true}')
    await bob.wait_data(lambda: len(bob.errors) == 1)
    assert bob.errors[0].code == "invalid_message"


async def test_late_subscriber_gets_video_within_a_second(harness: Harness) -> None:
    peers = await join_all(harness, ["alice", "bob"])
    await assert_media_from(peers["bob"], "alice", 5)
    video = harness.room.track("alice", "camera")
    assert video is not None
    # past the window in which a new stream starts from the latest key frame
    await asyncio.sleep(CATCH_UP_WINDOW + 0.1)
    keyframes_before = video.stats().keyframes

    # aiortc's VP8 encoder makes a key frame only every 3000 frames: carol can only
    # start if the SFU asks alice for one (PLI).
    size, luma = LOOKS["carol"]
    carol = await harness.join("carol", size=size, luma=luma)
    await asyncio.wait_for(carol.consumer_connected.setdefault("alice", asyncio.Event()).wait(), 10)
    got = await carol.wait_media("alice", video=1, audio=0, timeout=5)
    assert got.first_video_at is not None
    latency = got.first_video_at - carol.consumer_connected_at["alice"]
    assert latency < 1.0, f"first video frame {latency:.2f} s after connecting"
    assert video.stats().keyframes > keyframes_before
    assert video.stats().keyframe_requests >= 1
    await assert_media_from(carol, "alice", 5)

    # A PLI from a subscriber's receiver (real RTCP to the SFU) reaches alice too.
    assert carol.consumer is not None
    receiver = next(
        t.receiver
        for t in carol.consumer.getTransceivers()
        if t.kind == "video" and carol.mid_owner[t.mid or ""].participant_id == "alice"
    )
    ssrc = receiver.getSynchronizationSources()[0].source
    requests, keyframes = video.stats().keyframe_requests, video.stats().keyframes
    await asyncio.sleep(0.35)  # past the spacing after the previous request
    await receiver._send_rtcp_pli(ssrc)
    await asyncio.wait_for(_until(lambda: video.stats().keyframes > keyframes), 3)
    assert video.stats().keyframe_requests == requests + 1


async def test_data_only_participant_receives_media_and_data(harness: Harness) -> None:
    peers = await join_all(harness, ["alice"])
    viewer = await harness.join("viewer", audio=False, video=False)
    await assert_media_from(viewer, "alice", 5)
    stats = harness.room.stats()
    assert (stats.producers, stats.consumers, stats.forwarders) == (2, 1, 2)
    assert harness.room.connection_count("viewer") == 2  # its producer + its consumer

    await asyncio.wait_for(viewer.channel_open.wait(), 10)
    viewer.send_message(DataMessage(kind="bytes", data="AAEC", id="b1"))
    await peers["alice"].wait_data(lambda: len(peers["alice"].data) == 1)
    assert (peers["alice"].data[0].kind, peers["alice"].data[0].sender) == ("bytes", "viewer")


async def test_trickled_candidates(harness: Harness) -> None:
    """Browsers send SDP without candidates and trickle them as handshake messages."""
    peers = {}
    for pid in ("alice", "bob"):
        size, luma = LOOKS[pid]
        peers[pid] = await harness.join(pid, size=size, luma=luma, trickle=True)
    await asyncio.gather(
        assert_media_from(peers["alice"], "bob", 5), assert_media_from(peers["bob"], "alice", 5)
    )
    handshakes = [m for m in harness.to_sfu if isinstance(m, Handshake)]
    assert all("a=candidate" not in m.sdp.sdp for m in handshakes if m.sdp is not None)
    trickled = [(m.connection, m.candidate.candidate != "") for m in handshakes if m.candidate]
    for connection in ("producer", "consumer"):
        assert (connection, True) in trickled and (connection, False) in trickled


async def test_a_failed_producer_waits_for_a_new_one_then_its_media_is_reported_lost(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(room_module, "MEDIA_GRACE", 0.3)
    peers = await join_all(harness, ["alice", "bob"])
    await assert_media_from(peers["bob"], "alice", 3)
    alice = harness.room.participant("alice")
    assert alice is not None and alice.producer is not None
    producer = alice.producer
    carried = harness.room.stats().forwarded_tracks
    # What PeerConnection does when the pc fails or its path stops answering.
    producer._on_failed(producer)
    await asyncio.wait_for(_until(lambda: producer.pc.connectionState == "closed"), 5)
    assert harness.room.connection_count("alice") == 1
    stats = harness.room.stats()
    # only the failed connection is closed: alice's tracks wait on bob's connection for
    # her new producer, and her consumer connection stays
    assert (stats.participants, stats.producers, stats.consumers) == (2, 1, 2)
    assert stats.forwarded_tracks == carried
    # no new producer within the grace: signaling hears that her media is lost

    def reported() -> bool:
        return any(
            isinstance(m, ParticipantLeft)
            and (m.participant_id, m.reason) == ("alice", "ice_failed")
            for m in harness.from_sfu
        )

    await asyncio.wait_for(_until(reported), 5)


def got_id(peer: Peer, message_id: str) -> bool:
    return any(m.id == message_id for m in peer.data)


async def _until(predicate: object) -> None:
    assert callable(predicate)
    while not predicate():
        await asyncio.sleep(0.02)


async def test_grants_limit_publishing_subscribing_and_data(harness: Harness) -> None:
    peers = await join_all(harness, ["alice"])
    # a viewer (subscribe only) cannot publish media: the SFU refuses and says why
    viewer = await harness.join("viewer", grants=["subscribe"], size=(256, 192), luma=210)
    refusals = [
        m for m in harness.from_sfu if isinstance(m, Error) and m.participant_id == "viewer"
    ]
    assert refusals and "does not allow publishing" in refusals[0].message
    assert harness.room.participant("viewer").producer is None  # type: ignore[union-attr]
    # a data-channel-only producer is fine, and it receives alice's media
    await viewer.close()
    harness.peers.pop("viewer")
    watcher = await harness.join("watcher", grants=["subscribe"], audio=False, video=False)
    await assert_media_from(watcher, "alice", 3)
    await asyncio.wait_for(watcher.channel_open.wait(), 5)
    watcher.send_message(DataMessage(kind="text", data="hi", id="m1"))
    await watcher.wait_data(lambda: bool(watcher.errors))
    assert watcher.errors[0].code == "forbidden"
    assert not peers["alice"].data
    # a participant without "subscribe" gets no consumers, but others receive its media
    size, luma = LOOKS["bob"]
    bob = await harness.join("bob", grants=["publish", "data"], size=size, luma=luma)
    await assert_media_from(peers["alice"], "bob", 3)
    bob_state = harness.room.participant("bob")
    assert bob_state is not None and bob_state.consumer is None
    assert bob.consumer is None and bob.offers == []


async def test_offers_lost_while_a_participant_was_away_are_made_again(harness: Harness) -> None:
    peers = await join_all(harness, ["alice", "bob"])
    await assert_media_from(peers["bob"], "alice", 3)
    bob = harness.peers.pop("bob")  # bob's signaling socket is down: what the SFU sends is lost
    size, luma = LOOKS["carol"]
    await harness.join("carol", size=size, luma=luma)
    lost = [
        m
        for m in harness.from_sfu
        if isinstance(m, Handshake)
        and m.participant_id == "bob"
        and m.tracks
        and any(t.participant_id == "carol" for t in m.tracks)
    ]
    assert lost, "the SFU offered carol's media to bob while he was away"
    harness.peers["bob"] = bob  # bob is back; signaling announces him to the SFU again
    await harness.room.handle(ParticipantJoined(participant=ParticipantInfo(id="bob", name="bob")))
    await assert_media_from(bob, "carol", 3)
    await assert_media_from(bob, "alice", 3)  # what he had kept flowing
    again = [m for m in harness.from_sfu if isinstance(m, Handshake) and m.participant_id == "bob"]
    assert again[-1].sdp == lost[-1].sdp  # the same offer, sent again
    assert harness.room.stats().consumers == 3


async def test_a_leaving_producer_leaves_no_task_thread_or_connection_behind(
    harness: Harness,
) -> None:
    """Everything the SFU held for a participant goes when it leaves: its connections and
    their tasks, its forwarders and layers (collected), their key frame timers; the SFU
    never starts a thread (no decoders). The others' clients keep the (now inactive) media
    sections that carried its tracks, for reuse: those are theirs, not the SFU's."""
    import gc
    import threading
    import weakref

    peers = await join_all(harness, ["alice", "bob"])
    await assert_media_from(peers["alice"], "bob", 3)
    threads_before = {t.ident for t in threading.enumerate()}

    size, luma = LOOKS["carol"]
    carol = await harness.join("carol", size=size, luma=luma)
    await asyncio.gather(
        assert_media_from(carol, "alice", 3), assert_media_from(peers["alice"], "carol", 3)
    )
    state = harness.room.participant("carol")
    assert state is not None and state.producer is not None and state.consumer is not None
    forwarders = harness.room.tracks("carol")
    sfu_objects: list[object] = [
        item
        for pc in (state.producer.pc, state.consumer.pc)
        for transceiver in pc.getTransceivers()
        for item in (
            pc,
            transceiver.receiver,
            transceiver.sender,
            transceiver.receiver.transport,
            transceiver.receiver.transport.transport,
        )
    ]
    refs = [weakref.ref(o) for o in (state.producer, state.consumer, *forwarders)]
    refs += [weakref.ref(layer) for f in forwarders for layer in f.layers]
    new_threads = [
        t
        for t in threading.enumerate()
        if t.ident not in threads_before and not t.name.startswith("asyncio_")  # executor
    ]
    client_threads = {
        t.ident
        for p in (carol, *peers.values())
        for pc in (p.producer, p.consumer)
        if pc is not None
        for tr in pc.getTransceivers()
        if (t := getattr(tr.receiver, "_RTCRtpReceiver__decoder_thread", None)) is not None
    }
    sfu_threads = [t.name for t in new_threads if t.ident not in client_threads]
    assert not sfu_threads, f"the SFU started threads: {sfu_threads}"
    del state, forwarders

    await harness.leave("carol")

    def sfu_tasks() -> list[str]:
        found = []
        for task in asyncio.all_tasks():
            frame = getattr(task.get_coro(), "cr_frame", None)
            owner = frame.f_locals.get("self") if frame is not None else None
            if any(owner is o for o in sfu_objects):
                found.append(str(task.get_coro()))
        return found

    async def settled() -> None:
        while sfu_tasks():
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(settled(), 10)
    except TimeoutError:
        raise AssertionError(f"tasks of carol's SFU connections still run: {sfu_tasks()}") from None
    sfu_objects.clear()
    gc.collect()
    alive = [r() for r in refs if r() is not None]
    assert not alive, f"still referenced after carol left: {alive}"
    assert harness.room.stats().peer_connections == 4  # 2 producers + 2 consumers
