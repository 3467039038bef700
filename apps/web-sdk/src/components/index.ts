export { PreJoin, type PreJoinProps } from './PreJoin';
export { Chat, type ChatProps } from './chat/Chat';
export { DisconnectButton, type DisconnectButtonProps } from './controls/DisconnectButton';
export { TrackToggle, type TrackToggleProps } from './controls/TrackToggle';
export { GridLayout, type GridLayoutProps } from './layout/GridLayout';
export { AudioTrack, type AudioTrackProps } from './participant/AudioTrack';
export { ParticipantTile, type ParticipantTileProps } from './participant/ParticipantTile';
export { RoomAudioRenderer } from './participant/RoomAudioRenderer';
export { VideoTrack, type VideoTrackProps } from './participant/VideoTrack';
