import type { ConnectionState, Room } from '../core/room';
import { useEnsureRoom } from '../context/room-context';
import { useRoomSnapshot } from './internal/useRoomSnapshot';

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
