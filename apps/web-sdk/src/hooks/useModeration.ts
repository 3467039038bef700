import type { RemovedInfo, Room, WaitingParticipant } from '../core/room.js';
import { useEnsureRoom } from '../context/room-context.js';
import { useConnectionState } from './useConnectionState.js';
import { useRoomSnapshot } from './internal/useRoomSnapshot.js';

/** What {@link useModeration} returns. @public */
export interface UseModerationResult {
  /** True if this participant's grant holds `moderator`. */
  isModerator: boolean;
  /** Who waits in the lobby (moderators are told). */
  waiting: readonly WaitingParticipant[];
  /** Why this participant was removed, once it was (state `removed`). */
  removed: RemovedInfo | null;
  /** Remove a participant (its session ends). */
  remove: (participantId: string, reason?: string) => void;
  /** Hold a participant's audio or video muted; `muted = false` lets go. */
  mute: (participantId: string, kind: 'audio' | 'video', muted?: boolean) => void;
  /** End the room for everyone. */
  endRoom: (reason?: string) => void;
  /** Let in someone waiting in the lobby. */
  admit: (participantId: string) => void;
  /** Refuse someone waiting in the lobby. */
  deny: (participantId: string, reason?: string) => void;
}

/**
 * Roles in the room: whether this participant moderates, the lobby, and the moderator's
 * actions (signaling refuses them without the `moderator` grant: the room's `error`).
 *
 * @example
 * ```tsx
 * const { isModerator, waiting, admit } = useModeration();
 * return isModerator ? <ul>{waiting.map((w) => <li key={w.id} onClick={() => admit(w.id)}>{w.name}</li>)}</ul> : null;
 * ```
 * @public
 */
export function useModeration(room?: Room): UseModerationResult {
  const r = useEnsureRoom(room);
  useConnectionState(r); // grants arrive with the join, removal ends the room: re-render then
  const waiting = useRoomSnapshot(r, 'lobbyChanged', (x) => x.moderation.waiting);
  const m = r.moderation;
  return {
    isModerator: m.isModerator,
    waiting,
    removed: m.removed,
    remove: (id, reason) => m.remove(id, reason),
    mute: (id, kind, muted = true) => m.mute(id, kind, muted),
    endRoom: (reason) => m.endRoom(reason),
    admit: (id) => m.admit(id),
    deny: (id, reason) => m.deny(id, reason),
  };
}
