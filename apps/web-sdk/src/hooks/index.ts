export { useArbiterRoom, type UseArbiterRoomOptions } from './useArbiterRoom';
export { useChat, type UseChatResult } from './useChat';
export { useConnectionState } from './useConnectionState';
export { useMediaProblems } from './useMediaProblems';
export { useLocalParticipant, useParticipants } from './useParticipants';
export { tracksOf, useTracks, type TrackKind, type TrackReference } from './useTracks';
export { useTrackToggle, type UseTrackToggleOptions } from './useTrackToggle';
export { qualityForWidth, useTileQuality } from './useTileQuality';
export { useEnsureRoom, useMaybeRoom, useRoom } from '../context/room-context';
