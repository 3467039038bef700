/**
 * One strict JSON decoder for everything that arrives from the network (Python's
 * `_json.py`): sizes in UTF-8 bytes, UTF-8 only, no lone surrogates, bounded depth and
 * number literals.
 * @packageDocumentation
 */
import { isPlainObject, utf8Length } from './codec.js';
import { ErrorCode, ProtocolError } from './errors.js';
import { MAX_DEPTH, MAX_NUMBER_CHARS } from './limits.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const STRING_TOKEN = /"[^"\\]*(?:\\.[^"\\]*)*"/gs;
const NOT_BRACKET = /[^[\]{}]+/g;
const INNERMOST = /\[\]|\{\}/g;
const NUMBER_TOKEN = /-?\d[\d.eE+-]*/g;

function malformed(what: string, problem: string): ProtocolError {
  return new ProtocolError(ErrorCode.MALFORMED_JSON, `${what} ${problem}`);
}

/** Whether valid JSON `text` nests deeper than {@link MAX_DEPTH} (Python's `_too_deep`). */
function tooDeep(text: string): boolean {
  let brackets = text.replace(STRING_TOKEN, '').replace(NOT_BRACKET, '');
  for (let i = 0; i < MAX_DEPTH; i++) {
    if (!brackets) return false;
    brackets = brackets.replace(INNERMOST, '');
  }
  return brackets.length > 0;
}

function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value);
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  if (isPlainObject(value)) {
    return Object.entries(value).some(([k, v]) => LONE_SURROGATE.test(k) || hasLoneSurrogate(v));
  }
  return false;
}

/**
 * Decode JSON text or UTF-8 bytes with the rules of Python's `decode_json`: at most
 * `maxBytes` UTF-8 bytes, valid UTF-8 and no lone surrogates, nesting at most
 * {@link MAX_DEPTH}, number literals of at most {@link MAX_NUMBER_CHARS} characters and
 * finite. Throws {@link ProtocolError} (`message_too_large`, `malformed_json`).
 * @public
 */
export function decodeJson(raw: string | Uint8Array, maxBytes: number, what = 'message'): unknown {
  let text: string;
  let size: number;
  if (typeof raw === 'string') {
    if (LONE_SURROGATE.test(raw)) throw malformed(what, 'is not valid Unicode: it has a lone surrogate');
    text = raw;
    size = utf8Length(raw);
  } else {
    size = raw.byteLength;
    text = '';
  }
  if (size > maxBytes) {
    throw new ProtocolError(ErrorCode.MESSAGE_TOO_LARGE, `${what} is ${size} bytes; the limit is ${maxBytes}`);
  }
  if (typeof raw !== 'string') {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
    } catch {
      throw malformed(what, 'is not valid UTF-8');
    }
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (exc) {
    if (exc instanceof RangeError) throw malformed(what, `is nested deeper than ${MAX_DEPTH} levels`);
    throw malformed(what, `is not valid JSON: ${(exc as Error).message}`);
  }
  const stripped = text.replace(STRING_TOKEN, '""');
  for (const literal of stripped.match(NUMBER_TOKEN) ?? []) {
    if (literal.length > MAX_NUMBER_CHARS) {
      throw malformed(what, `has a number longer than ${MAX_NUMBER_CHARS} characters`);
    }
    if (!Number.isFinite(Number(literal))) throw malformed(what, `has a number out of range (${literal})`);
  }
  let opens = 0;
  for (let i = 0; i < text.length && opens <= MAX_DEPTH; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) opens++;
  }
  if (opens > MAX_DEPTH && tooDeep(text)) throw malformed(what, `is nested deeper than ${MAX_DEPTH} levels`);
  if (text.includes('\\u') && SURROGATE_ESCAPE.test(text) && hasLoneSurrogate(data)) {
    throw malformed(what, 'has a lone surrogate escape (\\ud800-\\udfff without its pair)');
  }
  return data;
}
