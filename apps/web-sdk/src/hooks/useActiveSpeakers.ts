import * as React from 'react';
import type { Participant, Room } from '../core/room.js';
import { useEnsureRoom } from '../context/room-context.js';
import { useRoomSnapshot } from './internal/useRoomSnapshot.js';
import { useParticipants } from './useParticipants.js';

/**
 * Who speaks now, loudest first, as the SFU says (from the audio level every microphone
 * puts in its RTP; at most four changes a second). The local participant is listed too
 * when it speaks.
 *
 * @example
 * ```tsx
 * const [loudest] = useActiveSpeakers();
 * return <p>{loudest ? `${loudest.name} is speaking` : 'Nobody is speaking'}</p>;
 * ```
 * @public
 */
export function useActiveSpeakers(room?: Room): readonly Participant[] {
  const r = useEnsureRoom(room);
  const ids = useRoomSnapshot(r, 'activeSpeakersChanged', (x) => x.activeSpeakers);
  const participants = useParticipants(r);
  return React.useMemo(
    () => ids.map((id) => participants.find((p) => p.id === id)).filter((p): p is Participant => !!p),
    [ids, participants],
  );
}
