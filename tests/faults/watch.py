"""Watching a call for the session tests: the largest pause in each participant's video
(at a Python client, and in a Chromium page), the leaves each one saw, and the gateway's
socket counters."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from playwright.async_api import Page

from arbiter_client import (
    ConnectionStateChanged,
    Disconnected,
    ParticipantLeft,
    Room,
    TrackSubscribed,
)


@dataclass
class ClientWatch:
    """Everything one Python client saw: per sender, when video frames came."""

    room: Room
    name: str
    last_frame: dict[str, float] = field(default_factory=dict)
    "Sender name -> when its latest video frame was decoded (monotonic)."
    largest_gap: dict[str, float] = field(default_factory=dict)
    "Sender name -> the longest wait between two of its frames so far (seconds)."
    left: list[tuple[str, str]] = field(default_factory=list)
    "(name, reason) of every participant_left this client saw."
    states: list[str] = field(default_factory=list)
    "Connection states, in order."
    disconnected: str | None = None
    "The reason of the room's end, if it ended."
    gap_ended_at: dict[str, float] = field(default_factory=dict)
    "Sender name -> when its largest gap ended (monotonic)."
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> ClientWatch:
        self._tasks.append(asyncio.create_task(self._events()))
        return self

    async def _events(self) -> None:
        async for event in self.room.events(maxsize=4096):
            if isinstance(event, TrackSubscribed) and event.kind == "video":
                self._tasks.append(asyncio.create_task(self._read(event)))
            elif isinstance(event, ParticipantLeft):
                self.left.append((event.participant.name, event.reason))
            elif isinstance(event, ConnectionStateChanged):
                self.states.append(event.state)
            elif isinstance(event, Disconnected):
                self.disconnected = event.reason

    async def _read(self, event: TrackSubscribed) -> None:
        sender = event.participant.name
        with contextlib.suppress(Exception):  # the track ends (a new SFU gives a new one)
            while True:
                await event.track.recv()
                now = time.monotonic()
                if sender in self.last_frame:
                    gap = now - self.last_frame[sender]
                    if gap > self.largest_gap.get(sender, 0.0):
                        self.gap_ended_at[sender] = now
                    self.largest_gap[sender] = max(self.largest_gap.get(sender, 0.0), gap)
                self.last_frame[sender] = now

    def gaps_until_now(self) -> dict[str, float]:
        """Largest gap per sender, counting the wait since its latest frame."""
        now = time.monotonic()
        return {
            sender: max(self.largest_gap.get(sender, 0.0), now - last)
            for sender, last in self.last_frame.items()
        }

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


PAGE_MONITOR = """() => {
  if (window.__arbiterWatch) return;
  const w = { last: {}, gaps: {}, removed: [], states: [] };
  window.__arbiterWatch = w;
  const tick = () => {
    const now = performance.now();
    for (const tile of document.querySelectorAll('[data-participant-name]')) {
      const name = tile.dataset.participantName;
      const video = tile.querySelector('video');
      if (!video || !video.getVideoPlaybackQuality) continue;
      const frames = video.getVideoPlaybackQuality().totalVideoFrames;
      const seen = w.last[name];
      if (frames > 0 && (!seen || seen.frames !== frames || seen.video !== video)) {
        if (seen) w.gaps[name] = Math.max(w.gaps[name] || 0, now - seen.at);
        w.last[name] = { frames, at: now, video };
      }
    }
  };
  const state = () => {
    const conference = document.querySelector('.arb-conference');
    const now = conference ? conference.dataset.state : 'gone';
    if (w.states[w.states.length - 1] !== now) w.states.push(now);
  };
  state();
  setInterval(tick, 50);
  new MutationObserver(state).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'],
  });
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.removedNodes) {
        if (node.nodeType !== 1) continue;
        const tiles = node.matches('[data-participant-name]')
          ? [node]
          : [...node.querySelectorAll('[data-participant-name]')];
        for (const tile of tiles) w.removed.push(tile.dataset.participantName);
      }
    }
  }).observe(document.body, { childList: true, subtree: true });
}"""

PAGE_REPORT = """() => {
  const w = window.__arbiterWatch;
  const now = performance.now();
  const gaps = {};
  const ages = {};
  for (const [name, seen] of Object.entries(w.last)) {
    gaps[name] = Math.max(w.gaps[name] || 0, now - seen.at) / 1000;
    ages[name] = (now - seen.at) / 1000;
  }
  return { gaps, ages, removed: w.removed, states: w.states };
}"""


async def watch_page(page: Page) -> None:
    """Start recording video pauses, removed tiles and connection states in ``page``."""
    await page.evaluate(PAGE_MONITOR)


async def page_report(page: Page) -> dict[str, Any]:
    """What ``page`` recorded: ``gaps`` (largest pause per name, seconds, up to now),
    ``ages`` (seconds since each name's latest frame), ``removed`` tiles, ``states``."""
    report: dict[str, Any] = await page.evaluate(PAGE_REPORT)
    return report


async def gateway_stats(api: str) -> dict[str, Any]:
    """The gateway's socket counters (``dev --debug-stats``)."""
    async with httpx.AsyncClient() as http:
        resp = await http.get(f"{api}/_dev/gateway")
    resp.raise_for_status()
    stats: dict[str, Any] = resp.json()
    return stats
