import type { ConnectionState, Room } from '../core/room.js';
import { useEnsureRoom } from '../context/room-context.js';
import { useRoomSnapshot } from './internal/useRoomSnapshot.js';

/**
 * The room's connection state: `idle`, `connecting`, `connected`, `disconnected`, `failed`.
 *
 * @example
 * ```tsx
 * const state = useConnectionState();
 * if (state === 'connecting') return <Spinner />;
 * ```
 * @public
 */
export function useConnectionState(room?: Room): ConnectionState {
  const r = useEnsureRoom(room);
  return useRoomSnapshot(r, 'connectionStateChanged', (x) => x.connectionState);
}
