"""Room state others can see (a new name, a raised hand) through the real local gateway,
with the test playing the SFU: kept, told to everyone, given to late joiners, kept across
a resume, refused when bad or too frequent."""

from __future__ import annotations

import pytest

from arbiter_protocol import DEFAULT_GRANTS
from arbiter_server.local import LocalStack
from tests.utils import ManualLauncher, WsPeer

from .test_signaling import _join, _room_with_sfu

pytestmark = pytest.mark.timeout(30)


async def test_a_rename_and_a_raised_hand_are_told_to_everyone_and_kept_for_late_joiners(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    sfu = await _room_with_sfu(stack, launcher, "rs")
    alice, a_join = await _join(stack, "rs", "alice")
    await alice.expect("identified")
    bob, _ = await _join(stack, "rs", "bob")
    await bob.expect("identified")
    await alice.expect("participant_joined")
    for _ in range(2):
        await sfu.expect("participant_joined")
    aid = a_join["participant_id"]

    await alice.send({"action": "update_participant", "v": 1, "hand_raised": True})
    for peer in (alice, bob, sfu):  # everyone, the sender and the SFU included
        update = await peer.expect("participant_updated")
        assert update["participant"] == {
            "id": aid,
            "name": "alice",
            "grants": list(DEFAULT_GRANTS),
            "hand_raised": True,
        }
    await alice.send({"action": "update_participant", "v": 1, "name": "Alice L."})
    assert (await bob.expect("participant_updated"))["participant"]["name"] == "Alice L."

    carol, _ = await _join(stack, "rs", "carol")
    present = {p["id"]: p for p in (await carol.expect("identified"))["participants"]}
    assert present[aid]["name"] == "Alice L." and present[aid]["hand_raised"] is True

    # a resume keeps both (they live with the session)
    await alice.close()
    alice2 = await WsPeer.connect(a_join["signaling_url"])
    await alice2.send({"action": "resume", "v": 1, "refresh_token": a_join["refresh_token"]})
    await alice2.expect("identified")
    dave, _ = await _join(stack, "rs", "dave")
    present = {p["id"]: p for p in (await dave.expect("identified"))["participants"]}
    assert present[aid]["name"] == "Alice L." and present[aid]["hand_raised"] is True

    # lowering the hand: the field is left out (not raised)
    await alice2.send({"action": "update_participant", "v": 1, "hand_raised": False})
    lowered = (await dave.expect("participant_updated"))["participant"]
    assert lowered["id"] == aid and "hand_raised" not in lowered
    for peer in (alice2, bob, carol, dave, sfu):
        await peer.close()


async def test_bad_updates_are_refused_clearly_and_a_flood_is_limited(
    manual_stack: tuple[LocalStack, ManualLauncher],
) -> None:
    stack, launcher = manual_stack
    assert stack.services is not None
    stack.services.settings.update_rate_limit = 3
    sfu = await _room_with_sfu(stack, launcher, "rb")
    alice, _ = await _join(stack, "rb", "alice")
    await alice.expect("identified")
    bob, _ = await _join(stack, "rb", "bob")
    await bob.expect("identified")
    await alice.expect("participant_joined")
    for _ in range(2):
        await sfu.expect("participant_joined")

    await alice.send({"action": "update_participant", "v": 1})
    err = await alice.expect("error")
    assert (err["code"], err["ref"]) == ("invalid_message", "update_participant")
    assert "'name' or 'hand_raised'" in err["message"]
    await alice.send({"action": "update_participant", "v": 1, "name": "x" * 65})
    assert (await alice.expect("error"))["message"] == "field 'name' is too long"
    # an SFU is not a participant
    await sfu.send({"action": "update_participant", "v": 1, "hand_raised": True})
    assert (await sfu.expect("error"))["code"] == "forbidden"
    await bob.assert_silent()

    for raised in (True, False, True):
        await alice.send({"action": "update_participant", "v": 1, "hand_raised": raised})
        await bob.expect("participant_updated")
        await alice.expect("participant_updated")
    await alice.send({"action": "update_participant", "v": 1, "hand_raised": False})
    err = await alice.expect("error")
    assert (err["code"], err["ref"]) == ("rate_limited", "update_participant")
    await bob.assert_silent()
    for peer in (alice, bob, sfu):
        await peer.close()
