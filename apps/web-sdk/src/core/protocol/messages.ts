/**
 * Parsing, validating and serialising messages and bodies (Python's `parse_message`, `encode_body` ...).
 * @packageDocumentation
 */
import { fromDict, isPlainObject, pyLen, pyReprValue, toDict } from './codec.js';
import { decodeJson } from './json.js';
import { ErrorCode, ProtocolError } from './errors.js';
import { MAX_BODY_BYTES, MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from './limits.js';
import { BODY_SCHEMAS, MESSAGE_SCHEMAS } from './schemas.js';
import type { Action, Bodies, BodyType, ErrorMessage, Message, MessageInit } from './types.js';

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
  return messageFromDict(decodeJson(raw, MAX_MESSAGE_BYTES, 'message'), allowed);
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
    data = decodeJson(raw, MAX_BODY_BYTES, 'body');
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
