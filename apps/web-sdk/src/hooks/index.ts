export { useArbiterRoom, type UseArbiterRoomOptions } from './useArbiterRoom';
export { useChat, type UseChatResult } from './useChat';
export { useConnectionState } from './useConnectionState';
export { useMediaProblems } from './useMediaProblems';
export { useModeration, type UseModerationResult } from './useModeration';
export { useLocalParticipant, useParticipants } from './useParticipants';
export { tracksOf, useTracks, type TrackKind, type TrackReference } from './useTracks';
export { useTrackToggle, type UseTrackToggleOptions } from './useTrackToggle';
export { useEnsureRoom, useMaybeRoom, useRoom } from '../context/room-context';
