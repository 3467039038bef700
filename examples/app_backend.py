"""An app's backend that uses Arbiter for its video calls: a clinic's consultations.

It is the only place that holds the deployment's API key. The clinic's web pages (and any
bot) get a *join grant* from it, never the key; it watches and moderates through the
server API, and it hears what happens in its rooms through signed webhooks.

Routes (JSON):

    POST /consultations                  {"doctor": "dr-ada"} -> a private room with a
                                         lobby, and the doctor's grant (a moderator)
    POST /consultations/{id}/patients    {"patient": "pat-7", "name": "Bea"} -> the
                                         patient's grant (waits in the lobby)
    GET  /consultations/{id}             who is in, who waits
    POST /consultations/{id}/mute/{pid}  hold a participant's microphone muted
    POST /consultations/{id}/end         end the call for everyone
    POST /webhooks/arbiter               Arbiter's events (the signature is checked)
    GET  /events                         the events received so far

Run it next to ``arbiter-server dev``::

    ARBITER_API_KEY=$(cat .arbiter/api-key) python examples/app_backend.py \\
        --arbiter http://127.0.0.1:8080 --port 9000

Guide: ``docs/embedding.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
from typing import Any

from aiohttp import web

from arbiter_admin import Admin, ApiError, WebhookError, WebhookEvent

ADMIN = web.AppKey("admin", Admin)
EVENTS = web.AppKey("events", list[WebhookEvent])
PUBLIC_URL = web.AppKey("public_url", str)


def make_app(admin: Admin, public_url: str) -> web.Application:
    """The backend's routes; on start it tells Arbiter where to post events."""
    app = web.Application()
    app[ADMIN] = admin
    app[EVENTS] = []
    app[PUBLIC_URL] = public_url.rstrip("/")
    app.router.add_post("/consultations", create_consultation)
    app.router.add_post("/consultations/{room_id}/patients", admit_patient)
    app.router.add_get("/consultations/{room_id}", consultation)
    app.router.add_post("/consultations/{room_id}/mute/{participant_id}", mute)
    app.router.add_post("/consultations/{room_id}/end", end)
    app.router.add_post("/webhooks/arbiter", webhook)
    app.router.add_get("/events", events)
    app.on_startup.append(register_webhook)
    app.middlewares.append(api_errors)
    return app


async def register_webhook(app: web.Application) -> None:
    """Arbiter posts this deployment's room events to us from now on."""
    await app[ADMIN].set_webhook(f"{app[PUBLIC_URL]}/webhooks/arbiter")


@web.middleware
async def api_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """A refusal of the server API becomes the same status for our own caller."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except ApiError as exc:
        return web.json_response(
            {"error": exc.code, "message": exc.message}, status=exc.status_code or 502
        )


async def create_consultation(request: web.Request) -> web.Response:
    """A private room with a lobby; the doctor joins as its moderator."""
    body = await request.json()
    admin = request.app[ADMIN]
    room = await admin.create_room(f"consult-{secrets.token_hex(4)}", private=True, lobby=True)
    grant = admin.mint_grant(
        room.room_id, body["doctor"], name=f"Dr {body['doctor']}", moderator=True, ttl=3600
    )
    return web.json_response({"room_id": room.room_id, "url": room.url, "token": grant})


async def admit_patient(request: web.Request) -> web.Response:
    """A patient's grant: it can talk, but waits in the lobby until the doctor admits it."""
    body = await request.json()
    room_id = request.match_info["room_id"]
    grant = request.app[ADMIN].mint_grant(
        room_id,
        body["patient"],
        name=body.get("name"),
        grants=["publish", "subscribe", "data"],
        metadata='{"role": "patient"}',
        lobby=True,
        ttl=900,
    )
    room = await request.app[ADMIN].get_room(room_id)
    return web.json_response({"url": room.url, "token": grant})


async def consultation(request: web.Request) -> web.Response:
    """Who is in the call, and who waits to be let in."""
    room = await request.app[ADMIN].get_room(request.match_info["room_id"])
    return web.json_response(
        {
            "in": [{"id": p.id, "identity": p.identity, "name": p.name} for p in room.participants],
            "waiting": [{"id": p.id, "name": p.name} for p in room.waiting or []],
        }
    )


async def mute(request: web.Request) -> web.Response:
    """Hold a participant's microphone muted (only the doctor or we can let go)."""
    info = await request.app[ADMIN].mute_participant(
        request.match_info["room_id"], request.match_info["participant_id"], "audio"
    )
    return web.json_response({"id": info.id, "locked": info.locked})


async def end(request: web.Request) -> web.Response:
    """End the call for everyone."""
    await request.app[ADMIN].close_room(request.match_info["room_id"], reason="consultation over")
    return web.json_response({"ended": True})


async def webhook(request: web.Request) -> web.Response:
    """An event from Arbiter: refuse anything whose signature is not the deployment's."""
    body = await request.read()
    try:
        event = request.app[ADMIN].verify_webhook(body, request.headers.get("Arbiter-Signature"))
    except WebhookError as exc:
        return web.json_response({"error": str(exc)}, status=401)
    seen = request.app[EVENTS]
    if all(e.id != event.id for e in seen):  # a retried delivery repeats its id
        seen.append(event)
    return web.json_response({"ok": True})


async def events(request: web.Request) -> web.Response:
    """The events received so far, in order."""
    return web.json_response(
        [
            {
                "event": e.event,
                "room_id": e.room_id,
                "participant": e.participant.identity or e.participant.id
                if e.participant
                else None,
                "kind": e.kind,
                "reason": e.reason,
            }
            for e in request.app[EVENTS]
        ]
    )


async def _serve(arbiter: str, api_key: str, host: str, port: int) -> None:
    async with Admin(arbiter, api_key) as admin:
        runner = web.AppRunner(make_app(admin, f"http://{host}:{port}"))
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        print(f"clinic backend on http://{host}:{port} (Arbiter at {arbiter})", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


def main() -> None:
    """``python examples/app_backend.py --arbiter URL [--port N]`` (key: ARBITER_API_KEY)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arbiter", default="http://127.0.0.1:8080", help="the Room API URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    key = os.environ.get("ARBITER_API_KEY")
    if not key:
        parser.error("set ARBITER_API_KEY (arbiter-server dev keeps it in .arbiter/api-key)")
    asyncio.run(_serve(args.arbiter, key, args.host, args.port))


if __name__ == "__main__":
    main()
