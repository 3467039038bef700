/**
 * Arbiter's wire protocol in TypeScript: a mirror of the Python package `arbiter_protocol`
 * (`messages.py`, `http.py`, `errors.py`, `_codec.py`) with the same validation rules.
 *
 * The shared examples in `tests/protocol/examples/*.json` are checked against both
 * implementations (vitest here, pytest in Python), so the two cannot drift silently.
 *
 * Known, documented difference: JSON text does not tell `1` from `1.0` once `JSON.parse`
 * has read it, so an integer field written as `1.0` is accepted here and refused by Python.
 *
 * @packageDocumentation
 */

// ---------------------------------------------------------------------------------- errors

/**
 * Machine-readable reason carried by every `error` message and HTTP error body.
 * @public
 */
export const ErrorCode = {
  MALFORMED_JSON: 'malformed_json',
  INVALID_MESSAGE: 'invalid_message',
  UNKNOWN_ACTION: 'unknown_action',
  UNSUPPORTED_VERSION: 'unsupported_version',
  MESSAGE_TOO_LARGE: 'message_too_large',
  NOT_IDENTIFIED: 'not_identified',
  ALREADY_IDENTIFIED: 'already_identified',
  UNAUTHORIZED: 'unauthorized',
  FORBIDDEN: 'forbidden',
  ROOM_NOT_FOUND: 'room_not_found',
  ROOM_EXISTS: 'room_exists',
  ROOM_FULL: 'room_full',
  SFU_UNAVAILABLE: 'sfu_unavailable',
  PARTICIPANT_NOT_FOUND: 'participant_not_found',
  RATE_LIMITED: 'rate_limited',
  NOT_FOUND: 'not_found',
  METHOD_NOT_ALLOWED: 'method_not_allowed',
  INTERNAL_ERROR: 'internal_error',
} as const;

/** One of the {@link ErrorCode} values. @public */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Raised when a message or body cannot be parsed or validated.
 * `code` is an {@link ErrorCode}; `action` is the offending message's action when known.
 * @public
 */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  action: string | null;

  constructor(code: ErrorCode, message: string, action: string | null = null) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.action = action;
  }
}

// ------------------------------------------------------------------------------- constants

/** Version of this protocol; a message with another `v` is refused. @public */
export const PROTOCOL_VERSION = 1;
/** Largest signaling message (API Gateway's WebSocket message limit). @public */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/** Largest WebSocket frame (API Gateway's frame limit). @public */
export const MAX_FRAME_BYTES = 32 * 1024;
/** Largest HTTP request/response body. @public */
export const MAX_BODY_BYTES = 16 * 1024;
/** Longest display name. @public */
export const MAX_NAME = 64;
const MAX_SDP = 60 * 1024;
const MAX_CANDIDATE = 1024;
const MAX_STRING = 64 * 1024;
const MAX_LIST = 1000;
const MAX_SAFE = 2 ** 53;

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const SDP_LINE_RE = /^[a-z]=[\x20-\x7e]*$/;
// Python's `\d` matches any Unicode decimal digit and its `$` also matches before a final
// newline: `\p{Nd}` and `\n?$` keep this the same pattern.
const CANDIDATE_RE =
  /^(a=)?candidate:[!-~]{1,32} \p{Nd}{1,3} (udp|tcp|UDP|TCP) \p{Nd}{1,10} [0-9A-Za-z.:_-]{1,253} \p{Nd}{1,5} typ (host|srflx|prflx|relay)( [\x21-\x7e]+)*\n?$/u;

/**
 * Refuse text that is not plausibly SDP (Python's `check_sdp`): it must start with `v=0`,
 * every line must be `<letter>=<printable ASCII>`, with an `o=` line and at most 32 `m=`
 * sections. Throws {@link ProtocolError}.
 * @public
 */
export function checkSdp(sdp: string): void {
  const lines = sdp.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
  let problem: string | null = null;
  if (lines[0] !== 'v=0') problem = "must start with 'v=0'";
  else if (!lines.some((l) => l.startsWith('o='))) problem = "has no 'o=' line";
  else if (lines.filter((l) => l.startsWith('m=')).length > 32) problem = 'has more than 32 media sections';
  else {
    const bad = lines.findIndex((l) => !SDP_LINE_RE.test(l));
    if (bad >= 0) problem = `line ${bad + 1} is not '<letter>=<printable text>'`;
  }
  if (problem !== null) throw new ProtocolError(ErrorCode.INVALID_MESSAGE, `field 'sdp.sdp' ${problem}`);
}

/**
 * True if `value` is usable as a room or participant id (`[A-Za-z0-9_-]{1,64}`).
 * @public
 */
export function isValidId(value: string): boolean {
  return ID_RE.test(value);
}

// ----------------------------------------------------------------------------------- types

/** A participant as others see it. @public */
export interface ParticipantInfo {
  id: string;
  name: string;
  /** What the participant may do (absent: everything); the SFU enforces it. */
  grants?: Grant[] | null;
}

/** One permission in a join token. @public */
export type Grant = 'publish' | 'subscribe' | 'data';

/** Every grant. @public */
export const ALL_GRANTS: readonly Grant[] = ['publish', 'subscribe', 'data'];

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

/** First message on every signaling connection. @public */
export interface Identify {
  action: 'identify';
  token: string;
}

/** Reply to a successful `identify`. @public */
export interface Identified {
  action: 'identified';
  room_id: string;
  role: 'participant' | 'sfu';
  sfu_ready: boolean;
  participants: ParticipantInfo[];
  participant_id?: string | null;
  /** True when this connection took over a briefly disconnected participant. */
  resumed: boolean;
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
 * A participant muted or unmuted its audio or video (data channel, like `data`); the SFU
 * stamps `sender`, relays it and repeats the latest state to late joiners.
 * @public
 */
export interface TrackState {
  action: 'track_state';
  kind: 'audio' | 'video';
  muted: boolean;
  sender?: string | null;
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

/** Any signaling or data-channel message. @public */
export type Message =
  | Identify
  | Identified
  | Handshake
  | Leave
  | SfuReady
  | ParticipantJoined
  | ParticipantLeft
  | ErrorMessage
  | DataMessage
  | TrackState
  | Subscription;

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
  /** The previous join token: rejoin as the same participant (reconnection). */
  resume_token?: string | null;
  /** Ask for fewer permissions than all (e.g. only `subscribe` for a viewer). */
  grants?: Grant[] | null;
}

/** What a client needs to enter a room. @public */
export interface JoinResponse {
  room_id: string;
  participant_id: string;
  token: string;
  signaling_url: string;
  ice_servers: IceServer[];
  expires_at: number;
}

/** `POST /rooms`. @public */
export interface CreateRoomRequest {
  room_id?: string | null;
}

/** `GET /rooms/{room_id}` and the reply to `POST /rooms`. @public */
export interface RoomInfo {
  room_id: string;
  participants: ParticipantInfo[];
  sfu_state: string;
  url?: string | null;
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

// ------------------------------------------------------------------------ schemas (_codec)

type FieldType =
  | { t: 'str'; maxLen?: number; minLen?: number }
  | { t: 'int'; min?: number; max?: number }
  | { t: 'bool' }
  | { t: 'literal'; values: readonly string[] }
  | { t: 'list'; item: FieldType; maxItems?: number }
  | { t: 'object'; schema: Schema };

interface FieldSpec {
  name: string;
  type: FieldType;
  /** `X | None` in Python: absent or null reads as null. */
  optional?: boolean;
  /** A dataclass default (or default_factory): absent or null reads as this. */
  default?: () => unknown;
}

interface Schema {
  fields: readonly FieldSpec[];
  /** Runs after every field is valid (Python's `__post_init__`). */
  check?: (value: Record<string, unknown>) => void;
}

const ID: FieldType = { t: 'str', maxLen: 64, minLen: 1 };
const STR: FieldType = { t: 'str' };

const GRANTS: FieldType = {
  t: 'list',
  item: { t: 'literal', values: ['publish', 'subscribe', 'data'] },
  maxItems: 3,
};

const PARTICIPANT_INFO: Schema = {
  fields: [
    { name: 'id', type: ID },
    { name: 'name', type: { t: 'str', maxLen: MAX_NAME } },
    { name: 'grants', type: GRANTS, optional: true },
  ],
};

const TRACK_INFO: Schema = {
  fields: [
    { name: 'id', type: ID },
    { name: 'kind', type: { t: 'literal', values: ['audio', 'video'] } },
    { name: 'source', type: { t: 'literal', values: TRACK_SOURCES }, default: () => 'unknown' },
    { name: 'mid', type: { t: 'str', maxLen: 32 }, optional: true },
    { name: 'participant_id', type: ID, optional: true },
  ],
};

const SESSION_DESCRIPTION: Schema = {
  fields: [
    { name: 'type', type: { t: 'literal', values: ['offer', 'answer'] } },
    { name: 'sdp', type: { t: 'str', maxLen: MAX_SDP, minLen: 1 } },
  ],
  check: (d) => checkSdp(d.sdp as string),
};

const ICE_CANDIDATE: Schema = {
  fields: [
    { name: 'candidate', type: { t: 'str', maxLen: MAX_CANDIDATE } },
    { name: 'sdpMid', type: { t: 'str', maxLen: 32 }, optional: true },
    { name: 'sdpMLineIndex', type: { t: 'int', min: 0, max: 64 }, optional: true },
  ],
  check: (c) => {
    const line = c.candidate as string;
    if (line && !CANDIDATE_RE.test(line)) {
      throw new ProtocolError(
        ErrorCode.INVALID_MESSAGE,
        "field 'candidate.candidate' is not an ICE candidate line " +
          "('candidate:<foundation> <component> <transport> <priority> <address> " +
          "<port> typ <type> ...')",
      );
    }
  },
};

const MESSAGE_SCHEMAS: Record<Action, Schema> = {
  identify: { fields: [{ name: 'token', type: { t: 'str', maxLen: 4096, minLen: 1 } }] },
  identified: {
    fields: [
      { name: 'room_id', type: ID },
      { name: 'role', type: { t: 'literal', values: ['participant', 'sfu'] } },
      { name: 'sfu_ready', type: { t: 'bool' } },
      {
        name: 'participants',
        type: { t: 'list', item: { t: 'object', schema: PARTICIPANT_INFO } },
        default: () => [],
      },
      { name: 'participant_id', type: ID, optional: true },
      { name: 'resumed', type: { t: 'bool' }, default: () => false },
    ],
  },
  handshake: {
    fields: [
      { name: 'connection', type: { t: 'literal', values: ['producer', 'consumer'] } },
      { name: 'participant_id', type: ID, optional: true },
      { name: 'sdp', type: { t: 'object', schema: SESSION_DESCRIPTION }, optional: true },
      { name: 'candidate', type: { t: 'object', schema: ICE_CANDIDATE }, optional: true },
      {
        name: 'tracks',
        type: { t: 'list', item: { t: 'object', schema: TRACK_INFO }, maxItems: 64 },
        optional: true,
      },
    ],
    check: (m) => {
      if (m.sdp == null && m.candidate == null) {
        throw new ProtocolError(
          ErrorCode.INVALID_MESSAGE,
          "a handshake needs 'sdp' or 'candidate'",
          'handshake',
        );
      }
    },
  },
  leave: { fields: [] },
  sfu_ready: { fields: [{ name: 'room_id', type: ID }] },
  participant_joined: {
    fields: [{ name: 'participant', type: { t: 'object', schema: PARTICIPANT_INFO } }],
  },
  participant_left: {
    fields: [
      { name: 'participant_id', type: ID },
      { name: 'reason', type: { t: 'str', maxLen: 64 }, default: () => 'left' },
    ],
  },
  error: {
    fields: [
      { name: 'code', type: { t: 'str', maxLen: 64 } },
      { name: 'message', type: { t: 'str', maxLen: 1024 } },
      { name: 'ref', type: { t: 'str', maxLen: 64 }, optional: true },
      { name: 'participant_id', type: ID, optional: true },
    ],
  },
  data: {
    fields: [
      { name: 'kind', type: { t: 'literal', values: ['text', 'bytes'] } },
      { name: 'data', type: { t: 'str', maxLen: 64 * 1024 } },
      { name: 'id', type: ID },
      { name: 'to', type: { t: 'list', item: STR, maxItems: 256 }, optional: true },
      { name: 'sender', type: ID, optional: true },
      { name: 'topic', type: { t: 'str', maxLen: 64 }, optional: true },
    ],
  },
  track_state: {
    fields: [
      { name: 'kind', type: { t: 'literal', values: ['audio', 'video'] } },
      { name: 'muted', type: { t: 'bool' } },
      { name: 'sender', type: ID, optional: true },
    ],
  },
  subscription: {
    fields: [
      { name: 'producer_id', type: ID },
      { name: 'video', type: { t: 'bool' }, default: () => true },
      { name: 'audio', type: { t: 'bool' }, default: () => true },
      { name: 'track_id', type: ID, optional: true },
      { name: 'quality', type: { t: 'literal', values: QUALITIES }, optional: true },
    ],
  },
};

const ICE_SERVER: Schema = {
  fields: [
    { name: 'urls', type: { t: 'list', item: STR } },
    { name: 'username', type: STR, optional: true },
    { name: 'credential', type: STR, optional: true },
  ],
};

const BODY_SCHEMAS: Record<BodyType, Schema> = {
  IceServer: ICE_SERVER,
  JoinRequest: {
    fields: [
      { name: 'name', type: { t: 'str', maxLen: MAX_NAME, minLen: 1 }, default: () => 'guest' },
      { name: 'resume_token', type: { t: 'str', maxLen: 4096, minLen: 1 }, optional: true },
      { name: 'grants', type: GRANTS, optional: true },
    ],
  },
  JoinResponse: {
    fields: [
      { name: 'room_id', type: STR },
      { name: 'participant_id', type: STR },
      { name: 'token', type: STR },
      { name: 'signaling_url', type: STR },
      { name: 'ice_servers', type: { t: 'list', item: { t: 'object', schema: ICE_SERVER } } },
      { name: 'expires_at', type: { t: 'int' } },
    ],
  },
  CreateRoomRequest: {
    fields: [{ name: 'room_id', type: { t: 'str', maxLen: 64, minLen: 1 }, optional: true }],
  },
  RoomInfo: {
    fields: [
      { name: 'room_id', type: STR },
      {
        name: 'participants',
        type: { t: 'list', item: { t: 'object', schema: PARTICIPANT_INFO } },
      },
      { name: 'sfu_state', type: STR },
      { name: 'url', type: STR, optional: true },
    ],
  },
  ErrorBody: {
    fields: [
      { name: 'code', type: STR },
      { name: 'message', type: STR },
    ],
  },
};

/** Every known action. @public */
export const ACTIONS: readonly Action[] = Object.keys(MESSAGE_SCHEMAS) as Action[];

/** Length in code points, as Python's `len(str)`. */
function pyLen(value: string): number {
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) {
      const d = value.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** Python's `repr` of a short string, as used in Python's error messages. */
function pyRepr(value: string): string {
  if (value.includes("'") && !value.includes('"')) return `"${value}"`;
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function pyReprValue(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return pyRepr(value);
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(value);
  return JSON.stringify(value);
}

function invalid(where: string, problem: string): ProtocolError {
  return new ProtocolError(ErrorCode.INVALID_MESSAGE, `field '${where}' ${problem}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fromDict(schema: Schema, data: unknown, path = ''): Record<string, unknown> {
  if (!isPlainObject(data)) throw invalid(path || 'message', 'must be a JSON object');
  const out: Record<string, unknown> = {};
  for (const f of schema.fields) {
    const where = path ? `${path}.${f.name}` : f.name;
    const value = Object.prototype.hasOwnProperty.call(data, f.name) ? data[f.name] : undefined;
    if (value !== undefined && value !== null) {
      out[f.name] = load(f.type, value, where, true);
    } else if (f.optional) {
      out[f.name] = null;
    } else if (f.default) {
      out[f.name] = f.default();
    } else {
      throw invalid(where, 'is required');
    }
  }
  schema.check?.(out);
  return out;
}

function load(tp: FieldType, value: unknown, where: string, withMeta: boolean): unknown {
  switch (tp.t) {
    case 'literal':
      if (typeof value !== 'string' || !tp.values.includes(value)) {
        throw invalid(where, `must be one of ${tp.values.map(pyRepr).join(', ')}`);
      }
      return value;
    case 'list': {
      if (!Array.isArray(value)) throw invalid(where, 'must be a list');
      if (value.length > ((withMeta ? tp.maxItems : undefined) ?? MAX_LIST)) {
        throw invalid(where, 'has too many items');
      }
      // Python loads list items without the field's metadata.
      return value.map((v, i) => load(stripMeta(tp.item), v, `${where}[${i}]`, false));
    }
    case 'object':
      return fromDict(tp.schema, value, where);
    case 'bool':
      if (typeof value !== 'boolean') throw invalid(where, 'must be a boolean');
      return value;
    case 'int': {
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        throw invalid(where, 'must be an integer');
      }
      if (!((tp.min ?? -MAX_SAFE) <= value && value <= (tp.max ?? MAX_SAFE))) {
        throw invalid(where, 'is out of range');
      }
      return value;
    }
    case 'str': {
      if (typeof value !== 'string') throw invalid(where, 'must be a string');
      const n = pyLen(value);
      if (n > (tp.maxLen ?? MAX_STRING)) throw invalid(where, 'is too long');
      if (tp.minLen !== undefined && n < tp.minLen) throw invalid(where, 'is too short');
      return value;
    }
  }
}

function stripMeta(tp: FieldType): FieldType {
  if (tp.t === 'str') return { t: 'str' };
  if (tp.t === 'int') return { t: 'int' };
  return tp;
}

/** The JSON-ready dict: `null` fields are left out (Python's `to_dict`). */
function toDict(schema: Schema, value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of schema.fields) {
    const v = value[f.name];
    if (v === null || v === undefined) continue;
    out[f.name] = dump(f.type, v);
  }
  return out;
}

function dump(tp: FieldType, value: unknown): unknown {
  if (tp.t === 'object') return toDict(tp.schema, value as Record<string, unknown>);
  if (tp.t === 'list') return (value as unknown[]).map((v) => dump(tp.item, v));
  return value;
}

// -------------------------------------------------------------------------------- messages

function byteLength(raw: string | Uint8Array): number {
  // Python measures `len(raw)`: characters of a str, bytes of a bytes object.
  return typeof raw === 'string' ? pyLen(raw) : raw.byteLength;
}

function decodeJson(raw: string | Uint8Array, what: string): unknown {
  let text: string;
  try {
    text = typeof raw === 'string' ? raw : new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch (exc) {
    throw new ProtocolError(ErrorCode.MALFORMED_JSON, `${what} is not valid JSON: ${String(exc)}`);
  }
  try {
    return JSON.parse(text);
  } catch (exc) {
    throw new ProtocolError(
      ErrorCode.MALFORMED_JSON,
      `${what} is not valid JSON: ${(exc as Error).message}`,
    );
  }
}

/**
 * Decode and validate one message (Python's `parse_message`).
 *
 * `allowed` restricts which actions are acceptable; others raise `unknown_action`.
 * Throws {@link ProtocolError} with the error code.
 *
 * @example
 * ```ts
 * const msg = parseMessage('{"action":"sfu_ready","v":1,"room_id":"r"}');
 * if (msg.action === 'sfu_ready') console.log(msg.room_id);
 * ```
 * @public
 */
export function parseMessage(
  raw: string | Uint8Array,
  allowed?: ReadonlySet<string> | readonly string[],
): Message {
  const size = byteLength(raw);
  if (size > MAX_MESSAGE_BYTES) {
    throw new ProtocolError(
      ErrorCode.MESSAGE_TOO_LARGE,
      `message is ${size} bytes; the limit is ${MAX_MESSAGE_BYTES}`,
    );
  }
  return messageFromDict(decodeJson(raw, 'message'), allowed);
}

/**
 * Validate already-decoded JSON as a message (see {@link parseMessage}).
 * @public
 */
export function messageFromDict(
  data: unknown,
  allowed?: ReadonlySet<string> | readonly string[],
): Message {
  if (!isPlainObject(data)) {
    throw new ProtocolError(ErrorCode.MALFORMED_JSON, 'message must be a JSON object');
  }
  const action = data.action;
  if (typeof action !== 'string') {
    throw new ProtocolError(ErrorCode.INVALID_MESSAGE, "field 'action' must be a string");
  }
  const known = Object.prototype.hasOwnProperty.call(MESSAGE_SCHEMAS, action);
  const permitted =
    allowed === undefined ||
    (Array.isArray(allowed) ? allowed.includes(action) : (allowed as ReadonlySet<string>).has(action));
  if (!known || !permitted) {
    const shown = pyLen(action) <= 64 ? action : [...action].slice(0, 61).join('') + '...';
    throw new ProtocolError(ErrorCode.UNKNOWN_ACTION, `unknown action '${shown}'`);
  }
  const version = data.v;
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      ErrorCode.UNSUPPORTED_VERSION,
      `protocol version ${pyReprValue(version)} is not supported; ` +
        `this server speaks v${PROTOCOL_VERSION}`,
      action,
    );
  }
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) if (k !== 'action' && k !== 'v') body[k] = v;
  try {
    const fields = fromDict(MESSAGE_SCHEMAS[action as Action], body);
    return { action, ...fields } as Message;
  } catch (exc) {
    if (exc instanceof ProtocolError) exc.action = action;
    throw exc;
  }
}

/**
 * The message as a JSON-ready object: `action`, `v`, then its fields (nulls left out).
 * @public
 */
export function messageToDict(message: Message): Record<string, unknown> {
  const schema = MESSAGE_SCHEMAS[message.action];
  return {
    action: message.action,
    v: PROTOCOL_VERSION,
    ...toDict(schema, message as unknown as Record<string, unknown>),
  };
}

/**
 * Serialise a message to compact JSON text (validating it first).
 *
 * @example
 * ```ts
 * ws.send(encodeMessage(makeMessage('identify', { token })));
 * ```
 * @public
 */
export function encodeMessage(message: Message): string {
  return JSON.stringify(messageToDict(message));
}

/**
 * Build a validated message: throws {@link ProtocolError} for anything Python would refuse.
 *
 * @example
 * ```ts
 * const hs = makeMessage('handshake', { connection: 'producer', sdp: { type: 'offer', sdp } });
 * ```
 * @public
 */
export function makeMessage<A extends Action>(
  action: A,
  init: MessageInit<A>,
): Extract<Message, { action: A }> {
  return messageFromDict({ ...init, action, v: PROTOCOL_VERSION }) as Extract<
    Message,
    { action: A }
  >;
}

/**
 * The `error` reply for a {@link ProtocolError}.
 * @public
 */
export function errorMessage(exc: ProtocolError): ErrorMessage {
  return { action: 'error', code: exc.code, message: exc.message, ref: exc.action };
}

// ---------------------------------------------------------------------------------- bodies

/**
 * Parse and validate a JSON request/response body; an empty body means `{}`.
 *
 * @example
 * ```ts
 * const join = decodeBody('JoinResponse', await response.text());
 * ```
 * @public
 */
export function decodeBody<T extends BodyType>(
  type: T,
  raw: string | Uint8Array | null | undefined,
): Bodies[T] {
  let data: unknown;
  if (raw === null || raw === undefined || raw === '' || (typeof raw !== 'string' && raw.byteLength === 0)) {
    data = {};
  } else {
    if (byteLength(raw) > MAX_BODY_BYTES) {
      throw new ProtocolError(
        ErrorCode.MESSAGE_TOO_LARGE,
        `body is larger than ${MAX_BODY_BYTES} bytes`,
      );
    }
    data = decodeJson(raw, 'body');
  }
  return fromDict(BODY_SCHEMAS[type], data) as unknown as Bodies[T];
}

/**
 * The JSON-ready object of a body (`null` fields left out), as Python's `to_dict`.
 * @public
 */
export function bodyToDict<T extends BodyType>(type: T, body: Bodies[T]): Record<string, unknown> {
  return toDict(BODY_SCHEMAS[type], body as unknown as Record<string, unknown>);
}

/**
 * Serialise a body; an `ErrorBody` goes under an `error` key, as Python's `encode_body`.
 * @public
 */
export function encodeBody<T extends BodyType>(type: T, body: Bodies[T]): string {
  const dict = bodyToDict(type, body);
  return JSON.stringify(type === 'ErrorBody' ? { error: dict } : dict);
}
