import * as React from 'react';
import type { Participant, Room } from '../core/room.js';
import { useEnsureRoom } from '../context/room-context.js';
import { useRoomSnapshot } from './internal/useRoomSnapshot.js';

/**
 * Receive the camera video of exactly the remote participants in `visible` (what is on
 * screen) and of the loudest remote active speaker (shown beside the page), and pause everyone else's at the SFU
 * (per-track `subscription`s): a full room costs this browser only the streams it shows.
 * Audio is always received. Each change is sent once.
 *
 * @example
 * ```tsx
 * useVisibleVideo(participants.slice(start, end));
 * ```
 * @public
 */
export function useVisibleVideo(visible: readonly Participant[], room?: Room): void {
  const r = useEnsureRoom(room);
  const state = useRoomSnapshot(r, 'connectionStateChanged', (x) => x.connectionState);
  const participants = useRoomSnapshot(r, 'participantsChanged', (x) => x.participants);
  const speakers = useRoomSnapshot(r, 'activeSpeakersChanged', (x) => x.activeSpeakers);
  const shown = visible.map((p) => p.id).join(',');
  React.useEffect(() => {
    if (state !== 'connected') return;
    const wanted = new Set(shown ? shown.split(',') : []);
    const loudest = loudestRemote(participants, speakers);
    if (loudest) wanted.add(loudest.id);
    for (const p of participants) {
      if (p.isLocal) continue;
      try {
        r.setSubscription(p.id, { trackId: 'camera', video: wanted.has(p.id) });
      } catch {
        // the data channel is down: the next change (or reconnection) asks again
      }
    }
  }, [r, state, participants, speakers, shown]);
}

/** The loudest remote participant the SFU lists as speaking, if any. @public */
export function loudestRemote(
  participants: readonly Participant[],
  speakers: readonly string[],
): Participant | undefined {
  for (const id of speakers) {
    const p = participants.find((x) => x.id === id);
    if (p && !p.isLocal) return p;
  }
  return undefined;
}
