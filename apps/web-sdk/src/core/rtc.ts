/**
 * The RTC helpers every peer connection of the room uses: ICE servers and gathering.
 * @packageDocumentation
 */
import type { IceServer } from './protocol/index.js';

const ICE_GATHERING_TIMEOUT_MS = 5000;

/** `RTCIceServer`s from the join response (never undefined: an empty list is explicit). */
export function toRtcIceServers(servers: readonly IceServer[]): RTCIceServer[] {
  return servers.map((s) => {
    const out: RTCIceServer = { urls: [...s.urls] };
    if (s.username != null) out.username = s.username;
    if (s.credential != null) out.credential = s.credential;
    return out;
  });
}

/** Resolve when ICE gathering is complete (or after `timeoutMs`, with what was gathered). */
export function waitForIceGathering(pc: RTCPeerConnection, timeoutMs = ICE_GATHERING_TIMEOUT_MS): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = (): void => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}
