/**
 * The schema of every message and body: what Python derives from its dataclass annotations.
 * @packageDocumentation
 */
import { ErrorCode, ProtocolError } from './errors.js';
import {
  CANDIDATE_RE,
  checkSdp,
  isValidId,
  MAX_CANDIDATE,
  MAX_MESSAGE_BYTES,
  MAX_METADATA,
  MAX_NAME,
  MAX_REFRESH_TOKEN,
} from './limits.js';
import { QUALITIES, TRACK_SOURCES, type Action, type BodyType } from './types.js';

/** A field's type, as the validator reads it. */
export type FieldType =
  | { t: 'str'; maxLen?: number; minLen?: number }
  | { t: 'int'; min?: number; max?: number }
  | { t: 'bool' }
  | { t: 'literal'; values: readonly string[] }
  | { t: 'list'; item: FieldType; maxItems?: number }
  | { t: 'object'; schema: Schema };

/** One field of a schema. */
export interface FieldSpec {
  name: string;
  type: FieldType;
  /** `X | None` in Python: absent or null reads as null. */
  optional?: boolean;
  /** A dataclass default (or default_factory): absent or null reads as this. */
  default?: () => unknown;
}

/** The fields of one message or body, and its cross-field check. */
export interface Schema {
  /** Python's class name, for a schema nested in others (the manifest names it). */
  name?: string;
  fields: readonly FieldSpec[];
  /** Runs after every field is valid (Python's `__post_init__`). */
  check?: (value: Record<string, unknown>) => void;
}

const ID: FieldType = { t: 'str', maxLen: 64, minLen: 1 };
/** Most participants an `active_speakers` message lists. */
const MAX_SPEAKERS = 32;
const STR: FieldType = { t: 'str' };

const GRANTS: FieldType = {
  t: 'list',
  item: { t: 'literal', values: ['publish', 'subscribe', 'data', 'screen', 'moderator'] },
  maxItems: 5,
};

const KIND: FieldType = { t: 'literal', values: ['audio', 'video'] };
const REASON: FieldType = { t: 'str', maxLen: 256 };

const PARTICIPANT_INFO: Schema = {
  name: 'ParticipantInfo',
  fields: [
    { name: 'id', type: ID },
    { name: 'name', type: { t: 'str', maxLen: MAX_NAME } },
    { name: 'grants', type: GRANTS, optional: true },
    { name: 'identity', type: ID, optional: true },
    { name: 'metadata', type: { t: 'str', maxLen: MAX_METADATA }, optional: true },
    { name: 'locked', type: { t: 'list', item: KIND, maxItems: 2 }, optional: true },
    { name: 'hand_raised', type: { t: 'bool' }, optional: true },
  ],
};
const PARTICIPANTS: FieldType = { t: 'list', item: { t: 'object', schema: PARTICIPANT_INFO } };

const TRACK_INFO: Schema = {
  name: 'TrackInfo',
  fields: [
    { name: 'id', type: ID },
    { name: 'kind', type: { t: 'literal', values: ['audio', 'video'] } },
    { name: 'source', type: { t: 'literal', values: TRACK_SOURCES }, default: () => 'unknown' },
    { name: 'mid', type: { t: 'str', maxLen: 32 }, optional: true },
    { name: 'participant_id', type: ID, optional: true },
  ],
};

const SESSION_DESCRIPTION: Schema = {
  name: 'SessionDescription',
  fields: [
    { name: 'type', type: { t: 'literal', values: ['offer', 'answer'] } },
    { name: 'sdp', type: { t: 'str', maxLen: MAX_MESSAGE_BYTES, minLen: 1 } },
  ],
  check: (d) => checkSdp(d.sdp as string),
};

const ICE_CANDIDATE: Schema = {
  name: 'IceCandidate',
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

const ICE_SERVER: Schema = {
  name: 'IceServer',
  fields: [
    { name: 'urls', type: { t: 'list', item: STR, maxItems: 8 } },
    { name: 'username', type: STR, optional: true },
    { name: 'credential', type: STR, optional: true },
  ],
};

const REFRESH_TOKEN: FieldType = { t: 'str', maxLen: MAX_REFRESH_TOKEN, minLen: 1 };
const ICE_SERVERS: FieldType = {
  t: 'list',
  item: { t: 'object', schema: ICE_SERVER },
  maxItems: 8,
};

/** Every message's schema, by action. */
export const MESSAGE_SCHEMAS: Record<Action, Schema> = {
  identify: { fields: [{ name: 'token', type: { t: 'str', maxLen: 4096, minLen: 1 } }] },
  resume: { fields: [{ name: 'refresh_token', type: REFRESH_TOKEN }] },
  refresh: { fields: [{ name: 'refresh_token', type: REFRESH_TOKEN }] },
  refreshed: {
    fields: [
      { name: 'refresh_token', type: REFRESH_TOKEN },
      { name: 'refresh_expires_at', type: { t: 'int' } },
      { name: 'session_expires_at', type: { t: 'int' }, optional: true },
      { name: 'ice_servers', type: ICE_SERVERS, optional: true },
    ],
  },
  identified: {
    fields: [
      { name: 'room_id', type: ID },
      { name: 'role', type: { t: 'literal', values: ['participant', 'sfu'] } },
      { name: 'sfu_ready', type: { t: 'bool' } },
      { name: 'participants', type: PARTICIPANTS, default: () => [] },
      { name: 'participant_id', type: ID, optional: true },
      { name: 'resumed', type: { t: 'bool' }, default: () => false },
      { name: 'refresh_token', type: REFRESH_TOKEN, optional: true },
      { name: 'refresh_expires_at', type: { t: 'int' }, optional: true },
      { name: 'session_expires_at', type: { t: 'int' }, optional: true },
      { name: 'ice_servers', type: ICE_SERVERS, optional: true },
      { name: 'waiting', type: { t: 'bool' }, optional: true },
      { name: 'idle_timeout', type: { t: 'int', min: 1 }, optional: true },
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
  keepalive: { fields: [] },
  keepalive_ack: { fields: [] },
  leave: { fields: [] },
  sfu_ready: { fields: [{ name: 'room_id', type: ID }] },
  participant_joined: {
    fields: [{ name: 'participant', type: { t: 'object', schema: PARTICIPANT_INFO } }],
  },
  participant_left: {
    fields: [
      { name: 'participant_id', type: ID },
      { name: 'reason', type: { t: 'str', maxLen: 64 }, default: () => 'left' },
      { name: 'by', type: ID, optional: true },
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
      { name: 'kind', type: KIND },
      { name: 'muted', type: { t: 'bool' } },
      { name: 'sender', type: ID, optional: true },
      { name: 'track_id', type: ID, optional: true },
      { name: 'by', type: ID, optional: true },
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
  layers: {
    fields: [
      { name: 'track_id', type: ID },
      { name: 'active', type: { t: 'list', item: STR, maxItems: 8 }, default: () => [] },
    ],
  },
  active_speakers: {
    fields: [{ name: 'speakers', type: { t: 'list', item: STR, maxItems: MAX_SPEAKERS }, default: () => [] }],
    check: (m) => {
      if ((m.speakers as string[]).some((s) => !isValidId(s))) {
        throw new ProtocolError(ErrorCode.INVALID_MESSAGE, "field 'speakers' must hold participant ids", 'active_speakers');
      }
    },
  },
  update_participant: {
    fields: [
      { name: 'name', type: { t: 'str', maxLen: MAX_NAME, minLen: 1 }, optional: true },
      { name: 'hand_raised', type: { t: 'bool' }, optional: true },
    ],
    check: (m) => {
      if (m.name == null && m.hand_raised == null) {
        throw new ProtocolError(
          ErrorCode.INVALID_MESSAGE,
          "an update needs 'name' or 'hand_raised'",
          'update_participant',
        );
      }
    },
  },
  moderate: {
    fields: [
      { name: 'op', type: { t: 'literal', values: ['remove', 'mute', 'end_room', 'admit', 'deny'] } },
      { name: 'participant_id', type: ID, optional: true },
      { name: 'kind', type: KIND, optional: true },
      { name: 'muted', type: { t: 'bool' }, default: () => true },
      { name: 'reason', type: REASON, optional: true },
    ],
    check: (m) => {
      if (m.op !== 'end_room' && m.participant_id == null) {
        throw new ProtocolError(ErrorCode.INVALID_MESSAGE, `'${String(m.op)}' needs 'participant_id'`, 'moderate');
      }
      if (m.op === 'mute' && m.kind == null) {
        throw new ProtocolError(ErrorCode.INVALID_MESSAGE, "'mute' needs 'kind'", 'moderate');
      }
    },
  },
  removed: {
    fields: [
      { name: 'reason', type: { t: 'literal', values: ['removed', 'room_ended', 'denied'] } },
      { name: 'by', type: ID, optional: true },
      { name: 'message', type: REASON, optional: true },
    ],
  },
  lobby: { fields: [{ name: 'waiting', type: { ...PARTICIPANTS, maxItems: 64 }, default: () => [] }] },
  participant_updated: {
    fields: [{ name: 'participant', type: { t: 'object', schema: PARTICIPANT_INFO } }],
  },
};

/** Every body's schema, by its Python class name. */
export const BODY_SCHEMAS: Record<BodyType, Schema> = {
  IceServer: ICE_SERVER,
  JoinRequest: {
    fields: [
      { name: 'name', type: { t: 'str', maxLen: MAX_NAME, minLen: 1 }, default: () => 'guest' },
      { name: 'grants', type: GRANTS, optional: true },
      { name: 'grant', type: { t: 'str', maxLen: 4096, minLen: 1 }, optional: true },
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
      { name: 'refresh_token', type: STR },
      { name: 'refresh_expires_at', type: { t: 'int' } },
      { name: 'session_expires_at', type: { t: 'int' } },
      { name: 'grants', type: GRANTS, optional: true },
      { name: 'name', type: { t: 'str', maxLen: MAX_NAME }, optional: true },
    ],
  },
  CreateRoomRequest: {
    fields: [
      { name: 'room_id', type: { t: 'str', maxLen: 64, minLen: 1 }, optional: true },
      { name: 'private', type: { t: 'bool' }, optional: true },
      { name: 'lobby', type: { t: 'bool' }, optional: true },
    ],
  },
  RoomInfo: {
    fields: [
      { name: 'room_id', type: STR },
      { name: 'participants', type: PARTICIPANTS },
      { name: 'sfu_state', type: STR },
      { name: 'url', type: STR, optional: true },
      { name: 'private', type: { t: 'bool' }, optional: true },
      { name: 'lobby', type: { t: 'bool' }, optional: true },
      { name: 'waiting', type: { ...PARTICIPANTS, maxItems: 64 }, optional: true },
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
