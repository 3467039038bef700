/**
 * Reading and writing JSON by a schema, with Python's rules (Python's `_codec.py`).
 * @packageDocumentation
 */
import { ErrorCode, ProtocolError } from './errors.js';
import { MAX_LIST, MAX_SAFE, MAX_STRING } from './limits.js';
import type { FieldType, Schema } from './schemas.js';


/** Length in UTF-8 bytes (a lone surrogate counts 3, as Python's `surrogatepass`). @public */
export function utf8Length(value: string): number {
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) {
      const d = value.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Length in code points, as Python's `len(str)`. */
export function pyLen(value: string): number {
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
export function pyRepr(value: string): string {
  if (value.includes("'") && !value.includes('"')) return `"${value}"`;
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function pyReprValue(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return pyRepr(value);
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(value);
  return JSON.stringify(value);
}

export function invalid(where: string, problem: string): ProtocolError {
  return new ProtocolError(ErrorCode.INVALID_MESSAGE, `field '${where}' ${problem}`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function fromDict(schema: Schema, data: unknown, path = ''): Record<string, unknown> {
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
      const n = utf8Length(value);
      if (n > (tp.maxLen ?? MAX_STRING)) throw invalid(where, 'is too long');
      if (tp.minLen !== undefined && n < tp.minLen) throw invalid(where, 'is too short');
      return value;
    }
  }
}

export function stripMeta(tp: FieldType): FieldType {
  if (tp.t === 'str') return { t: 'str' };
  if (tp.t === 'int') return { t: 'int' };
  return tp;
}

/** The JSON-ready dict: `null` fields are left out (Python's `to_dict`). */
export function toDict(schema: Schema, value: Record<string, unknown>): Record<string, unknown> {
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
