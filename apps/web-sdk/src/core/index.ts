/**
 * Framework-free room logic: the protocol mirror, the {@link Room}, media and layout helpers.
 * @packageDocumentation
 */
export * from './protocol';
export { ArbiterError, type ClientErrorCode } from './errors';
export { Emitter } from './emitter';
export {
  acquireMedia,
  describeMediaError,
  mediaProblemError,
  withoutDevice,
  type AcquiredMedia,
  type GetUserMedia,
  type MediaDevice,
  type MediaProblem,
} from './media';
export { gridLayout, isSpeaking } from './layout';
export { Moderation } from './moderation';
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
  type RemovedInfo,
  type RoomEnvironment,
  type RoomEvents,
  type RoomOptions,
  type TrackEvent,
  type WaitingParticipant,
} from './room';
