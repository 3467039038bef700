import type { Participant, Room } from '../core/room.js';
import { useEnsureRoom } from '../context/room-context.js';
import { useRoomSnapshot } from './internal/useRoomSnapshot.js';

/**
 * Everyone in the room, the local participant first; re-renders on joins, leaves, track,
 * mute and speaking changes.
 *
 * @example
 * ```tsx
 * const participants = useParticipants();
 * return <ul>{participants.map((p) => <li key={p.id}>{p.name}</li>)}</ul>;
 * ```
 * @public
 */
export function useParticipants(room?: Room): readonly Participant[] {
  const r = useEnsureRoom(room);
  return useRoomSnapshot(r, 'participantsChanged', (x) => x.participants);
}

/**
 * The local participant (undefined until joined).
 * @public
 */
export function useLocalParticipant(room?: Room): Participant | undefined {
  const participants = useParticipants(room);
  return participants.find((p) => p.isLocal);
}
