/**
 * Framework-free room logic: the protocol mirror, the {@link Room}, media and layout helpers.
 * @packageDocumentation
 */
export * from './protocol/index.js';
export { ArbiterError, type ClientErrorCode } from './errors.js';
export { Emitter } from './emitter.js';
export {
  acquireMedia,
  describeMediaError,
  mediaProblemError,
  withoutDevice,
  type AcquiredMedia,
  type GetUserMedia,
  type MediaDevice,
  type MediaProblem,
} from './media.js';
export { gridLayout, isSpeaking } from './layout.js';
export {
  CHAT_TOPIC,
  normaliseRoomUrl,
  Room,
  toRtcIceServers,
  waitForIceGathering,
  type ChatMessage,
  type ConnectionState,
  type Participant,
  type ReceivedData,
  type RoomEnvironment,
  type RoomEvents,
  type RoomOptions,
  type TrackEvent,
} from './room.js';
