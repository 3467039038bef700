export { ArbiterRoom, type ArbiterRoomProps } from './ArbiterRoom';
export { ControlBar, type ControlBarProps } from './ControlBar';
export { MediaProblemBanner } from './MediaProblemBanner';
export { VideoConference, type VideoConferenceProps } from './VideoConference';
