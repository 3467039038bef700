/**
 * The protocol's limits, topics, id and SDP rules (Python's `messages.py` constants).
 * @packageDocumentation
 */
import { ErrorCode, ProtocolError } from './errors.js';

/** Version of this protocol; a message with another `v` is refused. @public */
export const PROTOCOL_VERSION = 1;
/** Largest signaling message (API Gateway's WebSocket message limit). @public */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/** Largest WebSocket frame (API Gateway's frame limit). @public */
export const MAX_FRAME_BYTES = 32 * 1024;
/** Largest HTTP request/response body. @public */
export const MAX_BODY_BYTES = 16 * 1024;
/** Longest display name, in UTF-8 bytes. @public */
export const MAX_NAME = 64;
/** Topic of chat messages: a text `data` message with this topic is a chat message. @public */
export const CHAT_TOPIC = 'chat';
/**
 * Largest SDP, in bytes of its JSON-encoded text, so that a handshake fits one 32 KB frame.
 * @public
 */
export const MAX_SDP = 30 * 1024;
/** Deepest nesting of arrays and objects accepted in a message or body. @public */
export const MAX_DEPTH = 32;
/** Longest number literal accepted, in characters. @public */
export const MAX_NUMBER_CHARS = 32;
/** Longest refresh credential, in bytes. */
export const MAX_REFRESH_TOKEN = 256;

/** Largest participant metadata (the app's data), in UTF-8 bytes. */
export const MAX_METADATA = 1024;
/** Longest ICE candidate line. */
export const MAX_CANDIDATE = 1024;
/** Longest string field without a bound of its own. */
export const MAX_STRING = 64 * 1024;
/** Most items of a list field without a bound of its own. */
export const MAX_LIST = 1000;
/** API Gateway's idle timeout (seconds): assumed when `identified` does not name one. @public */
export const DEFAULT_IDLE_TIMEOUT = 600;
/** Longest wait between two keepalives (seconds), however long the idle timeout. @public */
export const KEEPALIVE_MAX_INTERVAL = 60;
/** Shortest wait for `keepalive_ack` (seconds) before the socket counts as dead. @public */
export const KEEPALIVE_MIN_ACK_WAIT = 5;

/**
 * Seconds between two `keepalive` for a server that closes a connection after
 * `idleTimeout` seconds without a message from it (Python's `keepalive_interval`): a third
 * of that, at most {@link KEEPALIVE_MAX_INTERVAL}.
 * @public
 */
export function keepaliveInterval(idleTimeout: number): number {
  return Math.min(Math.max(idleTimeout, 0.3) / 3, KEEPALIVE_MAX_INTERVAL);
}

/**
 * Seconds to wait for `keepalive_ack` (or any message) after a `keepalive` before the
 * socket is taken for dead (Python's `keepalive_ack_wait`).
 * @public
 */
export function keepaliveAckWait(idleTimeout: number): number {
  return Math.max(keepaliveInterval(idleTimeout), KEEPALIVE_MIN_ACK_WAIT);
}

/**
 * Seconds until a refresh credential expiring at `expiresAt` (Unix seconds) is renewed:
 * when half of its remaining lifetime is gone, at least half a second (Python's
 * `refresh_delay`).
 * @public
 */
export function refreshDelay(expiresAt: number, now: number): number {
  return Math.max(0.5, (expiresAt - now) / 2);
}

/** Integer fields without bounds stay within +-2^53. */
export const MAX_SAFE = 2 ** 53;

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const SDP_LINE_RE = /^[a-z]=[\x20-\x7e]*$/;
// Python's `\d` matches any Unicode decimal digit and its `$` also matches before a final
// newline: `\p{Nd}` and `\n?$` keep this the same pattern.
export const CANDIDATE_RE =
  /^(a=)?candidate:[!-~]{1,32} \p{Nd}{1,3} (udp|tcp|UDP|TCP) \p{Nd}{1,10} [0-9A-Za-z.:_-]{1,253} \p{Nd}{1,5} typ (host|srflx|prflx|relay)( [\x21-\x7e]+)*\n?$/u;

/**
 * Refuse text that is not plausibly SDP (Python's `check_sdp`): JSON-encoded it must fit in
 * {@link MAX_SDP} bytes, it must start with `v=0`, every line must be
 * `<letter>=<printable ASCII>`, with an `o=` line and at most 32 `m=` sections. Throws
 * {@link ProtocolError}.
 * @public
 */
export function checkSdp(sdp: string): void {
  const lines = sdp.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
  let problem: string | null = null;
  const size = sdpJsonSize(sdp);
  if (size > MAX_SDP) problem = `is ${size} bytes as JSON; the limit is ${MAX_SDP} (one 32 KB frame)`;
  else if (lines[0] !== 'v=0') problem = "must start with 'v=0'";
  else if (!lines.some((l) => l.startsWith('o='))) problem = "has no 'o=' line";
  else if (lines.filter((l) => l.startsWith('m=')).length > 32) problem = 'has more than 32 media sections';
  else {
    const bad = lines.findIndex((l) => !SDP_LINE_RE.test(l));
    if (bad >= 0) problem = `line ${bad + 1} is not '<letter>=<printable text>'`;
  }
  if (problem !== null) throw new ProtocolError(ErrorCode.INVALID_MESSAGE, `field 'sdp.sdp' ${problem}`);
}

/**
 * Bytes of `sdp` as a JSON string (Python's `sdp_json_size`): quotes, and two bytes per
 * escaped character. Exact for text {@link checkSdp} accepts.
 * @public
 */
export function sdpJsonSize(sdp: string): number {
  let escaped = 0;
  for (let i = 0; i < sdp.length; i++) {
    const c = sdp.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c === 0x0d || c === 0x0a) escaped++;
  }
  return sdp.length + escaped + 2;
}

/**
 * True if `value` is usable as a room or participant id (`[A-Za-z0-9_-]{1,64}`).
 * @public
 */
export function isValidId(value: string): boolean {
  return ID_RE.test(value);
}
