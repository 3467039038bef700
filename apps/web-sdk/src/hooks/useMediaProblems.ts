import type { MediaProblem } from '../core/media';
import type { Room } from '../core/room';
import { useEnsureRoom } from '../context/room-context';
import { useRoomSnapshot } from './internal/useRoomSnapshot';

/**
 * Why the camera or microphone is unavailable (permission refused, no device...), each
 * with a message to show the user. Empty when all is well.
 * @public
 */
export function useMediaProblems(room?: Room): readonly MediaProblem[] {
  const r = useEnsureRoom(room);
  return useRoomSnapshot(r, 'mediaProblemsChanged', (x) => x.mediaProblems);
}
