export { RoomContext, useEnsureRoom, useMaybeRoom, useRoom } from './room-context.js';
