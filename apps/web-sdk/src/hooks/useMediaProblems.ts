import type { MediaProblem } from '../core/media.js';
import type { Room } from '../core/room.js';
import { useEnsureRoom } from '../context/room-context.js';
import { useRoomSnapshot } from './internal/useRoomSnapshot.js';

/**
 * Why the camera or microphone is unavailable (permission refused, no device...), each
 * with a message to show the user. Empty when all is well.
 * @public
 */
export function useMediaProblems(room?: Room): readonly MediaProblem[] {
  const r = useEnsureRoom(room);
  return useRoomSnapshot(r, 'mediaProblemsChanged', (x) => x.mediaProblems);
}
