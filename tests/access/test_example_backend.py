"""``examples/app_backend.py`` (the guide's backend, docs/embedding.md) runs a consultation
end to end against a real local stack (marker ``scenarios``): it creates the private room
with a lobby, mints the doctor's and the patient's grants, the doctor admits the patient
from the lobby, the backend mutes the patient and ends the call, and it received every
event, signed, in order; a forged event is refused."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import sys
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from aiohttp import web

from arbiter_admin import Admin
from arbiter_client import Disconnected, ParticipantWaiting, Room, TrackMuted

from .helpers import Collector, running_stack, within

pytestmark = [pytest.mark.scenarios, pytest.mark.timeout(120)]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "app_backend.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("app_backend", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["app_backend"] = module
    spec.loader.exec_module(module)
    return module


async def test_the_example_backend_runs_a_consultation(tmp_path: Path) -> None:
    backend = _load()
    async with running_stack(tmp_path) as stack, Admin(stack.base_url, stack.api_key) as admin:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        port = sock.getsockname()[1]
        runner = web.AppRunner(backend.make_app(admin, f"http://127.0.0.1:{port}"))
        await runner.setup()
        await web.SockSite(runner, sock).start()
        api = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")
        rooms: list[Room] = []
        try:
            made = (await api.post("/consultations", json={"doctor": "ada"})).json()
            doctor = await Room.join(made["url"], token=made["token"], video_size=(160, 120))
            rooms.append(doctor)
            seen = Collector(doctor)
            assert doctor.is_moderator and doctor.local_participant.name == "Dr ada"
            room_id = made["room_id"]
            ticket = (
                await api.post(f"/consultations/{room_id}/patients", json={"patient": "p7"})
            ).json()
            waiting = asyncio.ensure_future(Room.join(ticket["url"], token=ticket["token"]))
            arrived = await seen.wait_for(
                lambda e: isinstance(e, ParticipantWaiting), "the patient in the lobby"
            )
            assert isinstance(arrived, ParticipantWaiting)
            status = (await api.get(f"/consultations/{room_id}")).json()
            assert status["waiting"] == [{"id": arrived.participant.id, "name": "p7"}]
            await doctor.admit(arrived.participant.id)
            patient = await within(waiting, "the patient's join")
            rooms.append(patient)
            status = (await api.get(f"/consultations/{room_id}")).json()
            assert [p["identity"] for p in status["in"]] == ["ada", "p7"]
            assert doctor.participants[patient.participant_id].metadata == '{"role": "patient"}'

            muted = await api.post(f"/consultations/{room_id}/mute/{patient.participant_id}")
            assert muted.json() == {"id": patient.participant_id, "locked": ["audio"]}
            held = await seen.wait_for(
                lambda e: isinstance(e, TrackMuted) and e.by == "app", "the patient held muted"
            )
            assert isinstance(held, TrackMuted) and held.kind == "audio"

            assert (await api.post(f"/consultations/{room_id}/end")).json() == {"ended": True}
            ended = await seen.wait_for(lambda e: isinstance(e, Disconnected), "the end")
            assert isinstance(ended, Disconnected) and ended.reason == "room_ended"
            await seen.close()

            async def all_events() -> list[dict[str, object]]:
                while True:
                    got: list[dict[str, object]] = (await api.get("/events")).json()
                    if got and got[-1]["event"] == "room_ended":
                        return got
                    await asyncio.sleep(0.05)

            got = await within(all_events(), "the room_ended webhook")
            assert [(e["event"], e["participant"]) for e in got if e["kind"] is None] == [
                ("room_started", None),
                ("participant_joined", "ada"),
                ("participant_joined", "p7"),
                ("participant_left", "ada"),
                ("participant_left", "p7"),
                ("room_ended", None),
            ]
            assert {(e["participant"], e["kind"]) for e in got if e["kind"]} == {
                ("ada", "audio"),
                ("ada", "video"),
                ("p7", "audio"),
                ("p7", "video"),
            }
            assert {e["reason"] for e in got if e["event"] == "participant_left"} == {"room_ended"}
            forged = await api.post(
                "/webhooks/arbiter", content=b"{}", headers={"Arbiter-Signature": "t=1,v1=00"}
            )
            assert forged.status_code == 401
        finally:
            for room in rooms:
                await room.leave()
            await api.aclose()
            await runner.cleanup()
