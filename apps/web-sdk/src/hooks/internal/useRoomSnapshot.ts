import * as React from 'react';
import type { Room, RoomEvents } from '../../core/room.js';

/**
 * Subscribe to `event` on `room` and return `read(room)`; `read` must return the same
 * value while nothing changed (the room's snapshots are immutable, so it does).
 */
export function useRoomSnapshot<T>(room: Room, event: keyof RoomEvents, read: (room: Room) => T): T {
  const readRef = React.useRef(read);
  readRef.current = read;
  const subscribe = React.useCallback(
    (onChange: () => void) => room.on(event, onChange as RoomEvents[typeof event]),
    [room, event],
  );
  const getSnapshot = React.useCallback(() => readRef.current(room), [room]);
  return React.useSyncExternalStore(subscribe, getSnapshot, getSnapshot);
}
