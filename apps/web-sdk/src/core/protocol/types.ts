/**
 * Every message and body as a TypeScript type (Python's dataclasses).
 * @packageDocumentation
 */
/** A participant as others see it. @public */
export interface ParticipantInfo {
  id: string;
  name: string;
  /** What the participant may do (absent: the default grants); the SFU enforces it. */
  grants?: Grant[] | null;
  /** The app's own id for this user, from the grant the app minted. */
  identity?: string | null;
  /** The app's data about this participant (at most 1 KB). */
  metadata?: string | null;
  /** Kinds a moderator holds muted (the SFU forwards none of them). */
  locked?: ('audio' | 'video')[] | null;
  /** True while its hand is raised (`update_participant`); absent or false: not raised. */
  hand_raised?: boolean | null;
}

/** One permission in a join token. @public */
export type Grant = 'publish' | 'subscribe' | 'data' | 'screen' | 'moderator';

/** Every grant (only a grant minted by the app's backend holds `moderator`). @public */
export const ALL_GRANTS: readonly Grant[] = ['publish', 'subscribe', 'data', 'screen', 'moderator'];

/** What a plain join of an open room gets. @public */
export const DEFAULT_GRANTS: readonly Grant[] = ['publish', 'subscribe', 'data', 'screen'];

/** Where a published track comes from. @public */
export type TrackSource = 'camera' | 'microphone' | 'screen' | 'screen_audio' | 'unknown';

/** Every track source. @public */
export const TRACK_SOURCES: readonly TrackSource[] = ['camera', 'microphone', 'screen', 'screen_audio', 'unknown'];

/**
 * A subscriber's wish for one video track: the lowest, middle or highest simulcast layer
 * (a track published in one layer has only that one).
 * @public
 */
export type Quality = 'low' | 'medium' | 'high';

/** Every quality, lowest first. @public */
export const QUALITIES: readonly Quality[] = ['low', 'medium', 'high'];

/**
 * One published media track, as its publisher describes it (producer offer, by `mid`) and
 * subscribers see it (consumer offer, with the publishing `participant_id`).
 * @public
 */
export interface TrackInfo {
  /** Track id chosen by its publisher, unique among that participant's tracks. */
  id: string;
  kind: 'audio' | 'video';
  source: TrackSource;
  /** The SDP media section carrying it in this connection's offer. */
  mid?: string | null;
  /** Who publishes it (set by the SFU in consumer offers). */
  participant_id?: string | null;
}

/** An SDP offer or answer. @public */
export interface SessionDescription {
  type: 'offer' | 'answer';
  sdp: string;
}

/** One trickled ICE candidate, as the browser's `RTCIceCandidateInit`. @public */
export interface IceCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

/**
 * First message on a signaling connection: admit this participant (or SFU), once. The
 * token is single-use and never takes over a connected participant (that needs `resume`).
 * @public
 */
export interface Identify {
  action: 'identify';
  token: string;
}

/**
 * First message on a new connection of someone who was connected before: the current
 * refresh credential takes over its participant (or SFU); nobody is told it left.
 * @public
 */
export interface Resume {
  action: 'resume';
  refresh_token: string;
}

/** Renew an identified connection's refresh credential before it expires. @public */
export interface Refresh {
  action: 'refresh';
  refresh_token: string;
}

/** Reply to `refresh`: the next refresh credential (the one sent is spent). @public */
export interface Refreshed {
  action: 'refreshed';
  refresh_token: string;
  refresh_expires_at: number;
  /** When the session ends (`session_expired`); absent for an SFU. */
  session_expires_at?: number | null;
  /** STUN/TURN servers with fresh credentials. */
  ice_servers?: IceServer[] | null;
}

/** Reply to a successful `identify` or `resume`. @public */
export interface Identified {
  action: 'identified';
  room_id: string;
  role: 'participant' | 'sfu';
  sfu_ready: boolean;
  participants: ParticipantInfo[];
  participant_id?: string | null;
  /** True when this connection took over a briefly disconnected participant. */
  resumed: boolean;
  /** A new refresh credential, when this identify or resume issued one. */
  refresh_token?: string | null;
  refresh_expires_at?: number | null;
  session_expires_at?: number | null;
  ice_servers?: IceServer[] | null;
  /** True: this participant waits in the room's lobby; a second `identified` admits it. */
  waiting?: boolean | null;
  /** Seconds without a message from this connection before the server closes it. */
  idle_timeout?: number | null;
}

/**
 * SDP and ICE between a client and its room's SFU, routed by signaling: the client's
 * `producer` connection (the client offers) or its one `consumer` connection, which
 * carries every other participant's tracks (the SFU offers, again when tracks change).
 * @public
 */
export interface Handshake {
  action: 'handshake';
  connection: 'producer' | 'consumer';
  participant_id?: string | null;
  sdp?: SessionDescription | null;
  candidate?: IceCandidate | null;
  /** With an offer: the tracks it carries, by media section. */
  tracks?: TrackInfo[] | null;
}

/**
 * Keeps a quiet signaling connection open (API Gateway closes one after 10 minutes
 * without a message from its client); the server answers `keepalive_ack`.
 * @public
 */
export interface Keepalive {
  action: 'keepalive';
}

/** Reply to `keepalive`: the connection is alive both ways. @public */
export interface KeepaliveAck {
  action: 'keepalive_ack';
}

/** A client leaves the room. @public */
export interface Leave {
  action: 'leave';
}

/** The room's SFU has identified: start the producer. @public */
export interface SfuReady {
  action: 'sfu_ready';
  room_id: string;
}

/** A participant identified in the room. @public */
export interface ParticipantJoined {
  action: 'participant_joined';
  participant: ParticipantInfo;
}

/** A participant left or was disconnected. @public */
export interface ParticipantLeft {
  action: 'participant_left';
  participant_id: string;
  reason: string;
  /** Who removed it (reason `removed`): a moderator's participant id, or `app`. */
  by?: string | null;
}

/** Reply to a message that could not be handled. @public */
export interface ErrorMessage {
  action: 'error';
  code: string;
  message: string;
  ref?: string | null;
  /** Set by an SFU to report an error to one participant through signaling. */
  participant_id?: string | null;
}

/** Application data over the `arbiter` data channel. @public */
export interface DataMessage {
  action: 'data';
  kind: 'text' | 'bytes';
  data: string;
  id: string;
  to?: string[] | null;
  sender?: string | null;
  topic?: string | null;
}

/**
 * A participant muted or unmuted one of its tracks (data channel, like `data`); the SFU
 * stamps `sender`, relays it and repeats the latest state to late joiners.
 * @public
 */
export interface TrackState {
  action: 'track_state';
  kind: 'audio' | 'video';
  muted: boolean;
  sender?: string | null;
  /** The track (`TrackInfo.id`, e.g. `screen`); absent: its `microphone` / `camera`. */
  track_id?: string | null;
  /** Set while a moderator holds the track muted: its participant id, or `app`. */
  by?: string | null;
}

/**
 * What a subscriber receives of one participant, or of one of its tracks (data channel).
 * Without `track_id`, `video`/`audio` pause (`false`) or resume (`true`) every track of
 * that kind of `producer_id` (the consumer connection stays up; on resume the SFU asks for
 * a key frame); with `track_id`, only that track (the flag of its kind counts). `quality`
 * picks the simulcast layer of video (`null`: unchanged; `high` until asked otherwise).
 * @public
 */
export interface Subscription {
  action: 'subscription';
  producer_id: string;
  video: boolean;
  audio: boolean;
  track_id?: string | null;
  quality?: Quality | null;
}

/**
 * The SFU tells a simulcast publisher which layers (rids) of one of its tracks anybody
 * receives (data channel, SFU to client); the others may stop encoding. The lowest layer
 * is always listed.
 * @public
 */
export interface Layers {
  action: 'layers';
  track_id: string;
  active: string[];
}

/**
 * Who is speaking now, loudest first (data channel, SFU to every client): the SFU reads
 * the audio-level header extension and sends this when the list changes, at most four
 * times a second, and the current list when a data channel opens.
 * @public
 */
export interface ActiveSpeakers {
  action: 'active_speakers';
  /** Participant ids, the loudest first (empty: nobody speaks). */
  speakers: string[];
}

/**
 * A participant changes what everyone sees of it (signaling, client to server); absent
 * fields stay. Everyone (the sender too) gets `participant_updated`.
 * @public
 */
export interface UpdateParticipant {
  action: 'update_participant';
  /** A new display name. */
  name?: string | null;
  /** Raise (true) or lower (false) the hand. */
  hand_raised?: boolean | null;
}

/**
 * A moderator acts on the room: remove, hold a track muted (`muted: false` lifts it), end
 * the room for all, admit or deny someone waiting in the lobby. Signaling refuses anyone
 * without the `moderator` grant (`forbidden`).
 * @public
 */
export interface Moderate {
  action: 'moderate';
  op: 'remove' | 'mute' | 'end_room' | 'admit' | 'deny';
  participant_id?: string | null;
  kind?: 'audio' | 'video' | null;
  muted: boolean;
  reason?: string | null;
}

/** This participant's session was ended for it (the socket closes next). @public */
export interface Removed {
  action: 'removed';
  reason: 'removed' | 'room_ended' | 'denied';
  /** A moderator's participant id, or `app`. */
  by?: string | null;
  /** The reason the moderator gave. */
  message?: string | null;
}

/** Who waits in the room's lobby now (sent to moderators). @public */
export interface Lobby {
  action: 'lobby';
  waiting: ParticipantInfo[];
}

/**
 * A participant's state changed (name, hand, app data, locked kinds): the participant as
 * it is now.
 * @public
 */
export interface ParticipantUpdated {
  action: 'participant_updated';
  participant: ParticipantInfo;
}

/** Any signaling or data-channel message. @public */
export type Message =
  | Identify
  | Resume
  | Refresh
  | Refreshed
  | Identified
  | Handshake
  | Keepalive
  | KeepaliveAck
  | Leave
  | SfuReady
  | ParticipantJoined
  | ParticipantLeft
  | ErrorMessage
  | DataMessage
  | TrackState
  | Subscription
  | Layers
  | ActiveSpeakers
  | UpdateParticipant
  | Moderate
  | Removed
  | Lobby
  | ParticipantUpdated;

/** Every known action. @public */
export type Action = Message['action'];

/** A message to build: everything but the action (which names it). @public */
export type MessageInit<A extends Action> = Omit<Extract<Message, { action: A }>, 'action'>;

/** One STUN/TURN server, as `RTCIceServer`. @public */
export interface IceServer {
  urls: string[];
  username?: string | null;
  credential?: string | null;
}

/** `POST /rooms/{room_id}/join`. @public */
export interface JoinRequest {
  name: string;
  /** Ask for fewer permissions than the default (e.g. only `subscribe` for a viewer). */
  grants?: Grant[] | null;
  /** A join grant minted by the app's backend (needed for a private room). */
  grant?: string | null;
}

/** What a client needs to enter a room. @public */
export interface JoinResponse {
  room_id: string;
  participant_id: string;
  token: string;
  signaling_url: string;
  ice_servers: IceServer[];
  /** When the single-use token expires (identify before then). */
  expires_at: number;
  /** The session's refresh credential (`resume`, `refresh`); it rotates. */
  refresh_token: string;
  refresh_expires_at: number;
  /** When the session ends: the participant then gets `session_expired`. */
  session_expires_at: number;
  /** What this participant may do. */
  grants?: Grant[] | null;
  /** The display name everyone sees (a grant's wins over the name asked for). */
  name?: string | null;
}

/** `POST /rooms`. @public */
export interface CreateRoomRequest {
  room_id?: string | null;
  /** Joining needs a grant from the app. */
  private?: boolean | null;
  /** Joiners without a grant wait for a moderator. */
  lobby?: boolean | null;
}

/** `GET /rooms/{room_id}` and the reply to `POST /rooms`. @public */
export interface RoomInfo {
  room_id: string;
  participants: ParticipantInfo[];
  sfu_state: string;
  url?: string | null;
  private?: boolean | null;
  lobby?: boolean | null;
  waiting?: ParticipantInfo[] | null;
}

/** Body of every HTTP error response (inside `{"error": ...}`). @public */
export interface ErrorBody {
  code: string;
  message: string;
}

/** The HTTP bodies, by their Python class name. @public */
export interface Bodies {
  IceServer: IceServer;
  JoinRequest: JoinRequest;
  JoinResponse: JoinResponse;
  CreateRoomRequest: CreateRoomRequest;
  RoomInfo: RoomInfo;
  ErrorBody: ErrorBody;
}

/** A body class name. @public */
export type BodyType = keyof Bodies;
