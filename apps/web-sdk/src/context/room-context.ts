import * as React from 'react';
import type { Room } from '../core/room.js';

/**
 * The room of the surrounding `<ArbiterRoom>` (or your own provider).
 * @public
 */
export const RoomContext = React.createContext<Room | undefined>(undefined);

/**
 * The room from context; throws outside an `<ArbiterRoom>` / `RoomContext.Provider`.
 *
 * @example
 * ```tsx
 * function Status() {
 *   const room = useRoom();
 *   return <span>{room.roomId}</span>;
 * }
 * ```
 * @public
 */
export function useRoom(): Room {
  const room = React.useContext(RoomContext);
  if (!room) {
    throw new Error('tried to access the room context outside of an <ArbiterRoom> (or RoomContext.Provider)');
  }
  return room;
}

/** The room from context, or undefined outside one. @public */
export function useMaybeRoom(): Room | undefined {
  return React.useContext(RoomContext);
}

/**
 * `room` if given, else the room from context; throws if there is neither.
 * @public
 */
export function useEnsureRoom(room?: Room): Room {
  const context = React.useContext(RoomContext);
  const r = room ?? context;
  if (!r) {
    throw new Error('no room: pass one, or use this inside an <ArbiterRoom> (or RoomContext.Provider)');
  }
  return r;
}
