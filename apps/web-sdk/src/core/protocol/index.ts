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
export { ErrorCode, ProtocolError } from './errors.js';
export {
  CHAT_TOPIC,
  checkSdp,
  DEFAULT_IDLE_TIMEOUT,
  isValidId,
  KEEPALIVE_MAX_INTERVAL,
  KEEPALIVE_MIN_ACK_WAIT,
  keepaliveAckWait,
  keepaliveInterval,
  MAX_BODY_BYTES,
  MAX_DEPTH,
  MAX_FRAME_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_NAME,
  MAX_NUMBER_CHARS,
  MAX_SDP,
  PROTOCOL_VERSION,
  refreshDelay,
  sdpJsonSize,
} from './limits.js';
export { utf8Length } from './codec.js';
export { decodeJson } from './json.js';
export * from './types.js';
export { ACTIONS } from './schemas.js';
export {
  bodyToDict,
  decodeBody,
  encodeBody,
  encodeMessage,
  errorMessage,
  makeMessage,
  messageFromDict,
  messageToDict,
  parseMessage,
} from './messages.js';
export { protocolManifest, type ProtocolManifest } from './manifest.js';
