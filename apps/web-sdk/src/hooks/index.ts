export { useArbiterRoom, type UseArbiterRoomOptions } from './useArbiterRoom.js';
export { useChat, type UseChatResult } from './useChat.js';
export { useConnectionState } from './useConnectionState.js';
export { useMediaProblems } from './useMediaProblems.js';
export { useLocalParticipant, useParticipants } from './useParticipants.js';
export { tracksOf, useTracks, type TrackKind, type TrackReference } from './useTracks.js';
export { useTrackToggle, type UseTrackToggleOptions } from './useTrackToggle.js';
export { qualityForWidth, useTileQuality } from './useTileQuality.js';
export { useEnsureRoom, useMaybeRoom, useRoom } from '../context/room-context.js';
