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
export { gridLayout, tilesPerPage } from './layout.js';
export { deviceConstraints, listDevices, setAudioOutput, type DeviceKind } from './devices.js';
export { Wishes, type SubscriptionOptions } from './wishes.js';
export { Moderation } from './moderation.js';
export {
  CHAT_TOPIC,
  normaliseRoomUrl,
  Room,
  toRtcIceServers,
  waitForIceGathering,
  type ActiveDevices,
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
} from './room.js';
