import type { ErrorCode } from './protocol/index.js';

/**
 * Codes of errors that happen in the browser rather than on the server.
 * @public
 */
export type ClientErrorCode =
  | 'network_error'
  | 'connection_lost'
  | 'timeout'
  | 'permission_denied'
  | 'device_not_found'
  | 'device_in_use'
  | 'media_error'
  | 'webrtc_error'
  | 'bad_url'
  | 'denied';

/**
 * Every error the SDK reports: a server {@link ErrorCode} or a {@link ClientErrorCode},
 * with a message meant for people.
 * @public
 */
export class ArbiterError extends Error {
  readonly code: ErrorCode | ClientErrorCode;
  /** HTTP status, for errors from the Room API. */
  readonly status: number | undefined;

  constructor(code: ErrorCode | ClientErrorCode, message: string, status?: number) {
    super(message);
    this.name = 'ArbiterError';
    this.code = code;
    this.status = status;
  }
}
