export { PreJoin, type PreJoinProps } from './PreJoin.js';
export { Chat, type ChatProps } from './chat/Chat.js';
export { DisconnectButton, type DisconnectButtonProps } from './controls/DisconnectButton.js';
export { TrackToggle, type TrackToggleProps } from './controls/TrackToggle.js';
export { GridLayout, type GridLayoutProps } from './layout/GridLayout.js';
export { AudioTrack, type AudioTrackProps } from './participant/AudioTrack.js';
export { ParticipantTile, type ParticipantTileProps } from './participant/ParticipantTile.js';
export { RoomAudioRenderer } from './participant/RoomAudioRenderer.js';
export { VideoTrack, type VideoTrackProps } from './participant/VideoTrack.js';
