export { ArbiterRoom, type ArbiterRoomProps } from './ArbiterRoom.js';
export { ControlBar, type ControlBarProps } from './ControlBar.js';
export { MediaProblemBanner } from './MediaProblemBanner.js';
export { VideoConference, type VideoConferenceProps } from './VideoConference.js';
