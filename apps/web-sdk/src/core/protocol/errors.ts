/**
 * The protocol's error codes and its validation error (Python's `errors.py`).
 * @packageDocumentation
 */
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
  SESSION_EXPIRED: 'session_expired',
  FORBIDDEN: 'forbidden',
  ROOM_NOT_FOUND: 'room_not_found',
  ROOM_EXISTS: 'room_exists',
  ROOM_FULL: 'room_full',
  SFU_UNAVAILABLE: 'sfu_unavailable',
  PARTICIPANT_NOT_FOUND: 'participant_not_found',
  RATE_LIMITED: 'rate_limited',
  NOT_FOUND: 'not_found',
  METHOD_NOT_ALLOWED: 'method_not_allowed',
  STORE_UNAVAILABLE: 'store_unavailable',
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
