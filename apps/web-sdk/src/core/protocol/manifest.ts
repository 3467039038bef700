/**
 * The TypeScript protocol as data, in the form of Python's `arbiter_protocol.manifest()`.
 *
 * `tests/protocol/manifest.json` is written from the Python package; vitest compares
 * {@link protocolManifest} with it, so an action, a field, a bound, an error code or a
 * limit that only one side has fails a test here (and pytest fails when the file no
 * longer matches Python).
 * @packageDocumentation
 */
import { ErrorCode } from './errors.js';
import {
  CHAT_TOPIC,
  DEFAULT_IDLE_TIMEOUT,
  KEEPALIVE_MAX_INTERVAL,
  KEEPALIVE_MIN_ACK_WAIT,
  MAX_BODY_BYTES,
  MAX_CANDIDATE,
  MAX_DEPTH,
  MAX_FRAME_BYTES,
  MAX_LIST,
  MAX_MESSAGE_BYTES,
  MAX_METADATA,
  MAX_NAME,
  MAX_NUMBER_CHARS,
  MAX_REFRESH_TOKEN,
  MAX_SAFE,
  MAX_SDP,
  MAX_STRING,
  PROTOCOL_VERSION,
} from './limits.js';
import { BODY_SCHEMAS, MESSAGE_SCHEMAS, type FieldType, type Schema } from './schemas.js';
import { ALL_GRANTS, DEFAULT_GRANTS } from './types.js';

/** One schema in the manifest. @public */
export interface SchemaManifest {
  fields: Record<string, unknown>[];
  check: boolean;
}

/** The protocol as data (see `arbiter_protocol/manifest.py`). @public */
export interface ProtocolManifest {
  protocol_version: number;
  limits: Record<string, number>;
  error_codes: Record<string, string>;
  topics: Record<string, string>;
  grants: string[];
  default_grants: string[];
  actions: Record<string, SchemaManifest>;
  bodies: Record<string, SchemaManifest>;
  types: Record<string, SchemaManifest>;
}

/** This implementation's protocol, to compare with Python's manifest. @public */
export function protocolManifest(): ProtocolManifest {
  const nested: Record<string, SchemaManifest> = {};
  const schema = (s: Schema): SchemaManifest => ({
    fields: s.fields.map((f) => {
      const spec: Record<string, unknown> = { name: f.name, type: type(f.type, true) };
      if (f.optional) spec.optional = true;
      else if (f.default) spec.default = f.default();
      else spec.required = true;
      return spec;
    }),
    check: s.check !== undefined,
  });
  const type = (tp: FieldType, bounded: boolean): Record<string, unknown> => {
    switch (tp.t) {
      case 'str':
        return { t: 'str', max_len: (bounded ? tp.maxLen : undefined) ?? MAX_STRING, min_len: (bounded ? tp.minLen : undefined) ?? 0 };
      case 'int':
        return { t: 'int', min: (bounded ? tp.min : undefined) ?? -MAX_SAFE, max: (bounded ? tp.max : undefined) ?? MAX_SAFE };
      case 'bool':
        return { t: 'bool' };
      case 'literal':
        return { t: 'literal', values: [...tp.values] };
      case 'list':
        // list items are read without the field's bounds, as in Python
        return { t: 'list', item: type(tp.item, false), max_items: (bounded ? tp.maxItems : undefined) ?? MAX_LIST };
      case 'object': {
        const name = tp.schema.name;
        if (!name) throw new Error('a nested schema needs the name of its Python class');
        if (!(name in nested)) {
          nested[name] = { fields: [], check: false }; // placeholder against recursion
          nested[name] = schema(tp.schema);
        }
        return { t: 'object', schema: name };
      }
    }
  };
  const actions = Object.fromEntries(Object.entries(MESSAGE_SCHEMAS).map(([a, s]) => [a, schema(s)]));
  const bodies = Object.fromEntries(Object.entries(BODY_SCHEMAS).map(([b, s]) => [b, schema(s)]));
  return {
    protocol_version: PROTOCOL_VERSION,
    limits: {
      MAX_MESSAGE_BYTES,
      MAX_FRAME_BYTES,
      MAX_BODY_BYTES,
      MAX_NAME,
      MAX_SDP,
      MAX_CANDIDATE,
      MAX_STRING,
      MAX_LIST,
      MAX_DEPTH,
      MAX_NUMBER_CHARS,
      MAX_REFRESH_TOKEN,
      MAX_METADATA,
      DEFAULT_IDLE_TIMEOUT,
      KEEPALIVE_MAX_INTERVAL,
      KEEPALIVE_MIN_ACK_WAIT,
    },
    error_codes: { ...ErrorCode },
    topics: { CHAT_TOPIC },
    grants: [...ALL_GRANTS],
    default_grants: [...DEFAULT_GRANTS],
    actions,
    bodies,
    types: Object.fromEntries(Object.entries(nested).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
}
