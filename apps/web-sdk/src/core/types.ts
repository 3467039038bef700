/**
 * The types of the framework-free room: participants, chat, events, options.
 * @packageDocumentation
 */
import type { ArbiterError } from './errors.js';
import type { GetUserMedia, MediaProblem } from './media.js';
import type { TrackSource } from './protocol/index.js';

/**
 * Where a room is in its life. `waiting`: in the room's lobby until a moderator admits
 * this participant; `reconnecting`: joined, and the signaling socket or the media is being
 * got back (nobody else sees it leave meanwhile); then `connected` again, or `failed` when
 * that takes longer than the reconnect budget; `removed`: a moderator or the app ended this
 * participant's session (see {@link RemovedInfo}).
 * @public
 */
export type ConnectionState =
  | 'idle'
  | 'connecting'
  | 'waiting'
  | 'connected'
  | 'reconnecting'
  | 'disconnected'
  | 'removed'
  | 'failed';

/** Why this participant's session was ended for it. @public */
export interface RemovedInfo {
  /** `removed` by a moderator or the app, the room `room_ended` for all, admission `denied`. */
  reason: 'removed' | 'room_ended' | 'denied';
  /** A moderator's participant id, or `app` (the app's backend). */
  by: string | null;
  /** The reason the moderator gave. */
  message: string | null;
}

/** Someone waiting in the room's lobby, as moderators see them. @public */
export interface WaitingParticipant {
  id: string;
  name: string;
  identity: string | null;
  metadata: string | null;
}

/**
 * A participant as the UI sees it. Snapshots are immutable: a change makes a new object.
 * @public
 */
export interface Participant {
  id: string;
  name: string;
  isLocal: boolean;
  /** The audio track (local: the microphone; remote: what the SFU forwards). */
  audioTrack: MediaStreamTrack | null;
  /** The video track (local: the camera; remote: its camera, else its first video track). */
  videoTrack: MediaStreamTrack | null;
  /** Every track received from a remote participant (a screen beside the camera ...). */
  tracks: readonly RemoteTrackRef[];
  /** Microphone on (local), or as the remote participant's last `track_state` said (default true). */
  audioEnabled: boolean;
  /** Camera on (local), or as the remote participant's last `track_state` said (default true). */
  videoEnabled: boolean;
  /** The shared screen (local: this browser's while it shares; remote: its `screen` track). */
  screenTrack: MediaStreamTrack | null;
  /** The shared screen is not paused (its publisher's `track_state` for `screen`; default true). */
  screenEnabled: boolean;
  /** The SFU lists the participant among the active speakers (audio levels, no decoding). */
  isSpeaking: boolean;
  /** The participant has its hand raised (`room.setHandRaised`, seen by everyone). */
  handRaised: boolean;
  /** The app's id for this user (from the grant it joined with). */
  identity?: string | null;
  /** The app's data about this participant. */
  metadata?: string | null;
  /** Who holds the microphone muted (a moderator's participant id, or `app`); absent: nobody. */
  audioLockedBy?: string | null;
  /** Who holds the camera muted; absent: nobody. */
  videoLockedBy?: string | null;
}

/** A track received from a remote participant, with what its publisher said of it. @public */
export interface RemoteTrackRef {
  /** The publisher's id for it (`camera`, `microphone`, `screen` ...). */
  id: string;
  kind: 'audio' | 'video';
  source: TrackSource;
  track: MediaStreamTrack;
}

/** One chat message (a `data` message with topic `chat`). @public */
export interface ChatMessage {
  id: string;
  senderId: string;
  senderName: string;
  text: string;
  timestamp: number;
  isLocal: boolean;
}

/** Application data received on the `arbiter` channel. @public */
export interface ReceivedData {
  senderId: string | null;
  data: string | Uint8Array;
  topic: string | null;
  id: string;
}

/** A remote track that arrived or went away. @public */
export interface TrackEvent {
  participant: Participant;
  track: MediaStreamTrack;
}

/** Everything a {@link Room} emits. @public */
export interface RoomEvents {
  connectionStateChanged: (state: ConnectionState) => void;
  participantsChanged: (participants: readonly Participant[]) => void;
  participantJoined: (participant: Participant) => void;
  participantLeft: (participant: Participant, reason: string) => void;
  trackSubscribed: (event: TrackEvent) => void;
  trackUnsubscribed: (event: TrackEvent) => void;
  chatChanged: (messages: readonly ChatMessage[]) => void;
  data: (data: ReceivedData) => void;
  mediaProblemsChanged: (problems: readonly MediaProblem[]) => void;
  /** Who speaks now (participant ids, loudest first), when the SFU says it changed. */
  activeSpeakersChanged: (speakers: readonly string[]) => void;
  /** A participant renamed itself, raised or lowered its hand, or its app data changed (the local one too). */
  participantUpdated: (participant: Participant) => void;
  /** The camera, microphone or speaker in use changed. */
  devicesChanged: (devices: ActiveDevices) => void;
  error: (error: ArbiterError) => void;
  joined: (info: { roomId: string; participantId: string }) => void;
  left: (reason: string) => void;
  /** A moderator (or the app) removed another participant; `participantLeft` follows. */
  participantRemoved: (participant: Participant, by: string | null) => void;
  /** This participant's session was ended for it (state `removed`). */
  removed: (info: RemovedInfo) => void;
  /** Who waits in the lobby changed (moderators only). */
  lobbyChanged: (waiting: readonly WaitingParticipant[]) => void;
}

/** How the room's parts emit its events (the room's own `emit`). */
export type Emit = <K extends keyof RoomEvents>(event: K, ...args: Parameters<RoomEvents[K]>) => void;

/** The devices a room uses (device ids; absent: the browser's default). @public */
export interface ActiveDevices {
  audioinput?: string;
  videoinput?: string;
  audiooutput?: string;
}

/** What the room uses from the browser; every field can be replaced (tests do). @public */
export interface RoomEnvironment {
  fetch: typeof fetch;
  WebSocket: new (url: string) => WebSocket;
  RTCPeerConnection: new (config: RTCConfiguration) => RTCPeerConnection;
  getUserMedia: GetUserMedia;
  /** `navigator.mediaDevices.getDisplayMedia` (screen share). */
  getDisplayMedia: (constraints: DisplayMediaStreamOptions) => Promise<MediaStream>;
}

/** Options of a {@link Room}. @public */
export interface RoomOptions {
  /** The room URL, e.g. `http://127.0.0.1:8080/rooms/demo`. */
  url: string;
  /** Display name (1..64 characters). Default `guest`. */
  name?: string;
  /** Start with the microphone on. Default true. */
  audio?: boolean;
  /** Start with the camera on. Default true. */
  video?: boolean;
  /** Seconds for the whole join before a `timeout` error (time in a lobby excluded). Default 20. */
  timeout?: number;
  /** The camera, microphone and speaker to use from the start (ids from `enumerateDevices`). */
  devices?: ActiveDevices;
  /** A join grant minted by the app's backend: needed for a private room. */
  token?: string;
  /**
   * Once joined, seconds the room keeps trying to get a dropped signaling socket or lost
   * media back before it fails. Default 30; 0 fails at once.
   */
  reconnectTimeout?: number;
  /**
   * Which ICE candidates the room's peer connections (producer and consumer) may use:
   * `relay` sends all media through the TURN server (as Python's `ice_transport_policy`).
   * Default `all`.
   */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Replace browser APIs (tests). */
  environment?: Partial<RoomEnvironment>;
}

/** The browser's own APIs (fetch, WebSocket, RTCPeerConnection, getUserMedia). */
export function defaultEnvironment(): RoomEnvironment {
  const g = globalThis as unknown as Partial<RoomEnvironment> & {
    navigator?: Navigator;
  };
  return {
    fetch: (...args: Parameters<typeof fetch>) => globalThis.fetch(...args),
    WebSocket: g.WebSocket as RoomEnvironment['WebSocket'],
    RTCPeerConnection: g.RTCPeerConnection as RoomEnvironment['RTCPeerConnection'],
    getUserMedia: (constraints) => {
      const devices = g.navigator?.mediaDevices;
      if (!devices?.getUserMedia) {
        const err = new Error('this page cannot use cameras or microphones (needs HTTPS or localhost)');
        err.name = 'SecurityError';
        return Promise.reject(err);
      }
      return devices.getUserMedia(constraints);
    },
    getDisplayMedia: (constraints) => {
      const devices = g.navigator?.mediaDevices;
      if (!devices?.getDisplayMedia) {
        const err = new Error('this browser cannot share a screen here (needs HTTPS or localhost)');
        err.name = 'NotSupportedError';
        return Promise.reject(err);
      }
      return devices.getDisplayMedia(constraints);
    },
  };
}
