"""``arbiter-server smoke``: prove a deployment (or ``dev``) carries video, step by step.

Against a room API URL (or a room URL) it checks that the API answers, gets a room
(creating it with the API key when needed), joins two bots (with grants minted with the
API key, when it has one: a deployment's rooms are private), first the relay-only one (so
a TURN problem shows as the TURN step), and checks that video decodes at the other end
both ways: from the direct bot through the
SFU and TURN to the relay-only bot, and back. Each step prints its time and result;
after the first failure the rest are skipped. The exit code is 0 only if every step
passed. With ``--region`` (and ``--prefix``) it finds a deployment's URL and API key
itself.

This and the demo bot are the only parts of ``arbiter_server`` that use the Python SDK.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import av
import httpx

from arbiter_client import ArbiterError, Room, TrackSubscribed
from arbiter_protocol import mint_grant

__all__ = ["SmokeResult", "SmokeTest", "StepResult", "resolve_deployment"]

DIRECT_SIZE = (320, 240)
RELAY_SIZE = (352, 288)
_ROOM_URL = re.compile(r"^(?P<base>.+?)/rooms/(?P<room>[A-Za-z0-9_-]{1,64})/?$")


@dataclass(frozen=True)
class StepResult:
    """One step: its name, whether it passed, how long it took, what was seen."""

    name: str
    passed: bool | None
    "None: skipped after an earlier failure."
    seconds: float = 0.0
    detail: str = ""

    def line(self) -> str:
        """One line for the terminal."""
        mark = {True: "PASS", False: "FAIL", None: "SKIP"}[self.passed]
        text = f"{mark} {self.seconds:6.2f} s  {self.name}"
        return f"{text}: {self.detail}" if self.detail else text


@dataclass
class SmokeResult:
    """Every step, in order."""

    steps: list[StepResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every step ran and passed."""
        return bool(self.steps) and all(s.passed for s in self.steps)

    def verdict(self) -> str:
        """The last line: passed, or which step failed."""
        total = sum(s.seconds for s in self.steps)
        if self.passed:
            return f"smoke PASSED: {len(self.steps)} steps in {total:.1f} s"
        failed = next(s for s in self.steps if s.passed is False)
        return f"smoke FAILED at '{failed.name}': {failed.detail}"


class StepFailed(Exception):
    """A step's check did not hold; the message says what was seen."""


class SmokeTest:
    """The smoke steps against one URL; :meth:`run` returns every step's result."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        report: Callable[[StepResult], None] | None = None,
    ) -> None:
        match = _ROOM_URL.match(url.rstrip("/"))
        self.base = (match.group("base") if match else url).rstrip("/")
        self.room_id = match.group("room") if match else None
        self.api_key = api_key
        self.timeout = timeout
        self.report = report
        self.room_url = ""
        self._rooms: list[Room] = []

    async def run(self) -> SmokeResult:
        """Run every step (skipping the rest after a failure) and leave the room."""
        turn = "is TURN up and reachable on port 3478?"
        steps: list[tuple[str, Callable[[], Awaitable[str]], str]] = [
            ("room API answers", self._health, "is the URL right?"),
            ("room is ready", self._room, "is the room API answering?"),
            ("bot 'smoke-relay' joins relay-only, through TURN", self._join_relay, turn),
            ("bot 'smoke-direct' joins", self._join_direct, "is the room's SFU up?"),
            ("video smoke-direct -> SFU -> TURN -> smoke-relay", self._video_to_relay, turn),
            ("video smoke-relay -> TURN -> SFU -> smoke-direct", self._video_to_direct, turn),
        ]
        result = SmokeResult()
        failed = False
        try:
            for name, step, hint in steps:
                if failed:
                    outcome = StepResult(name, None)
                else:
                    outcome = await self._step(name, step, hint)
                    failed = not outcome.passed
                result.steps.append(outcome)
                if self.report is not None:
                    self.report(outcome)
        finally:
            for room in self._rooms:
                await room.leave()
        return result

    async def _step(self, name: str, step: Callable[[], Awaitable[str]], hint: str) -> StepResult:
        start = time.monotonic()
        try:
            detail = await asyncio.wait_for(step(), self.timeout)
        except TimeoutError:
            elapsed = time.monotonic() - start
            return StepResult(name, False, elapsed, f"no result in {self.timeout:g} s ({hint})")
        except (StepFailed, ArbiterError, httpx.HTTPError, OSError) as exc:
            return StepResult(name, False, time.monotonic() - start, str(exc) or repr(exc))
        return StepResult(name, True, time.monotonic() - start, detail)

    def _headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key} if self.api_key else {}

    async def _health(self) -> str:
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            resp = await http.get(f"{self.base}/health")
        if resp.status_code != 200:
            raise StepFailed(f"GET {self.base}/health answered {resp.status_code}")
        return f"GET {self.base}/health"

    async def _room(self) -> str:
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            if self.room_id is not None:
                url = f"{self.base}/rooms/{self.room_id}"
                found = await http.get(url)
                if found.status_code == 200:
                    self.room_url = url
                    return f"{url} (open it in a browser to watch)"
                if found.status_code != 404:
                    raise StepFailed(f"GET {url} answered {found.status_code}: {found.text}")
                resp = await http.post(
                    f"{self.base}/rooms", json={"room_id": self.room_id}, headers=self._headers()
                )
            else:
                resp = await http.post(f"{self.base}/rooms", json={}, headers=self._headers())
        if resp.status_code == 401:
            raise StepFailed(
                "creating a room needs the deployment's API key: pass --api-key "
                "(or set ARBITER_API_KEY)"
            )
        if resp.status_code != 201:
            raise StepFailed(f"POST {self.base}/rooms answered {resp.status_code}: {resp.text}")
        self.room_url = str(resp.json()["url"])
        return f"{self.room_url} (created; open it in a browser to watch)"

    async def _join(self, name: str, size: tuple[int, int], policy: Any) -> Room:
        # with the API key, each bot gets a grant: a deployment's rooms are private
        match = _ROOM_URL.match(self.room_url)
        token = (
            mint_grant(self.api_key, match["room"], name, ttl=600)
            if self.api_key and match
            else None
        )
        room = await Room.join(
            self.room_url,
            name=name,
            token=token,
            video_size=size,
            audio=False,
            timeout=self.timeout,
            reconnect_timeout=0,
            ice_transport_policy=policy,
        )
        self._rooms.append(room)
        return room

    async def _join_direct(self) -> str:
        room = await self._join("smoke-direct", DIRECT_SIZE, "all")
        return f"participant {room.participant_id}"

    async def _join_relay(self) -> str:
        try:
            room = await self._join("smoke-relay", RELAY_SIZE, "relay")
        except ArbiterError as exc:
            raise StepFailed(
                f"{exc} (relay-only: media can only go through the TURN servers the join "
                "handed out; is TURN up and reachable on 3478?)"
            ) from None
        return f"participant {room.participant_id}, media relayed by TURN"

    async def _video_to_relay(self) -> str:
        relay, direct = self._rooms
        return await _first_frame(relay, direct.participant_id, DIRECT_SIZE)

    async def _video_to_direct(self) -> str:
        relay, direct = self._rooms
        return await _first_frame(direct, relay.participant_id, RELAY_SIZE)


async def _first_frame(room: Room, sender: str, size: tuple[int, int]) -> str:
    """Wait for ``sender``'s video at ``room`` and decode frames until one has ``size``."""
    async for event in room.events():
        if not isinstance(event, TrackSubscribed) or event.kind != "video":
            continue
        if event.participant.id != sender:
            continue
        while True:
            frame = await event.track.recv()
            if isinstance(frame, av.VideoFrame):
                frame.to_ndarray(format="rgb24")  # it decodes to pixels
                if (frame.width, frame.height) == size:
                    return f"{frame.width}x{frame.height} frame decoded"
    raise StepFailed(f"the room closed before {sender}'s video arrived")


def resolve_deployment(region: str, prefix: str, aws: Any = None) -> tuple[str, str | None]:
    """A deployment's Room API URL and API key (from its API and SSM)."""
    from .infra.awsclient import AwsClient
    from .infra.deployer import status
    from .infra.models import DeployConfig
    from .infra.planner import Names

    aws = aws or AwsClient(region)
    info = status(aws, DeployConfig(region=region, prefix=prefix))
    url = info["endpoints"].get("room_api")
    if not url:
        raise RuntimeError(f"no deployment '{prefix}' in {region} (run arbiter-server deploy)")
    return str(url), aws.get_parameter(Names(prefix).api_key_param)


def main(args: Any) -> int:
    """``arbiter-server smoke``: run, print each step and the verdict; the exit code."""
    url: str | None = args.url
    api_key: str | None = args.api_key or os.environ.get("ARBITER_API_KEY")
    if url is None:
        if not args.region:
            print("arbiter-server smoke: give a URL, or --region (and --prefix) of a deployment")
            return 2
        try:
            url, found = resolve_deployment(args.region, args.prefix)
        except Exception as exc:  # no credentials, no deployment: say which
            print(f"arbiter-server smoke: {exc}")
            return 1
        api_key = api_key or found
    print(f"smoke test of {url}", flush=True)
    smoke = SmokeTest(
        url, api_key=api_key, timeout=args.timeout, report=lambda s: print(s.line(), flush=True)
    )
    result = asyncio.run(smoke.run())
    print(result.verdict(), flush=True)
    return 0 if result.passed else 1
