// @vitest-environment node
/**
 * The shared protocol examples (tests/protocol/examples/*.json), the same files that
 * tests/protocol/test_examples.py checks against the Python module.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ACTIONS,
  decodeBody,
  encodeBody,
  encodeMessage,
  errorMessage,
  makeMessage,
  parseMessage,
  keepaliveAckWait,
  keepaliveInterval,
  protocolManifest,
  ProtocolError,
  refreshDelay,
  type BodyType,
} from './protocol/index.js';

const EXAMPLES = resolve(__dirname, '../../../../tests/protocol/examples');
const MANIFEST = resolve(__dirname, '../../../../tests/protocol/manifest.json');

interface Case {
  name: string;
  input?: unknown;
  raw?: string;
  pad_to?: number;
  allowed?: string[];
  valid?: unknown;
  error?: { code: string; message?: string; ref?: string | null };
}
interface Spec {
  kind: 'message' | 'body';
  type?: BodyType;
  about: string;
  cases: Case[];
}

const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json')).sort();
const specs = files.map((f) => ({
  file: f.replace(/\.json$/, ''),
  spec: JSON.parse(readFileSync(resolve(EXAMPLES, f), 'utf-8')) as Spec,
}));

function rawOf(c: Case): string {
  let raw = c.raw !== undefined ? c.raw : JSON.stringify(c.input);
  if (c.pad_to !== undefined) raw = raw.padEnd(c.pad_to, ' ');
  return raw;
}

function run(spec: Spec, c: Case): unknown {
  const raw = rawOf(c);
  if (spec.kind === 'message') return JSON.parse(encodeMessage(parseMessage(raw, c.allowed)));
  const type = spec.type as BodyType;
  return JSON.parse(encodeBody(type, decodeBody(type, raw)));
}

describe('shared protocol examples', () => {
  it('has examples for every action', () => {
    const names = new Set(specs.map((s) => s.file));
    for (const action of ACTIONS) expect(names, action).toContain(action);
    expect(specs.length).toBeGreaterThanOrEqual(ACTIONS.length + 6);
  });

  for (const { file, spec } of specs) {
    describe(file, () => {
      for (const c of spec.cases) {
        it(c.name, () => {
          if (c.valid !== undefined) {
            expect(run(spec, c)).toEqual(c.valid);
            return;
          }
          let caught: unknown;
          try {
            run(spec, c);
          } catch (exc) {
            caught = exc;
          }
          expect(caught, 'expected a ProtocolError').toBeInstanceOf(ProtocolError);
          const err = caught as ProtocolError;
          expect(err.code).toBe(c.error!.code);
          if (c.error!.message !== undefined) expect(err.message).toBe(c.error!.message);
          if (c.error!.ref !== undefined) expect(err.action).toBe(c.error!.ref);
        });
      }
    });
  }
});

describe('protocol helpers', () => {
  it('makeMessage validates like parsing does', () => {
    expect(makeMessage('identify', { token: 't' })).toEqual({ action: 'identify', token: 't' });
    expect(() => makeMessage('identify', { token: '' })).toThrow(ProtocolError);
  });

  it('errorMessage turns a ProtocolError into an error reply', () => {
    try {
      parseMessage('{"action":"leave","v":3}');
    } catch (exc) {
      expect(errorMessage(exc as ProtocolError)).toEqual({
        action: 'error',
        code: 'unsupported_version',
        message: 'protocol version 3 is not supported; this server speaks v1',
        ref: 'leave',
      });
    }
    expect.assertions(1);
  });

  it('measures every limit in UTF-8 bytes, text and binary alike, as Python does', () => {
    const text = '{"action":"leave","v":1}'.padEnd(131072, ' ');
    expect(parseMessage(text).action).toBe('leave');
    expect(() => parseMessage(text + ' ')).toThrow(/131073 bytes/);
    const bytes = new TextEncoder().encode(text + ' ');
    expect(() => parseMessage(bytes)).toThrow(/131073 bytes/);
    const accented = '{"action":"leave","v":1,"x":"é"}'.padEnd(131072, ' ');
    expect(() => parseMessage(accented)).toThrow(/131073 bytes/);
  });

  it('refuses bytes that are not UTF-8 as malformed JSON', () => {
    const bad = new Uint8Array([0x7b, 0xff, 0x7d]);
    try {
      parseMessage(bad);
    } catch (exc) {
      expect((exc as ProtocolError).code).toBe('malformed_json');
    }
    expect.assertions(1);
  });
});

describe('protocol manifest', () => {
  it('is the protocol arbiter_protocol describes (tests/protocol/manifest.json)', () => {
    // Written by `python -m arbiter_protocol`; pytest checks it against Python.
    const python = JSON.parse(readFileSync(MANIFEST, 'utf-8')) as unknown;
    expect(protocolManifest()).toEqual(python);
  });
});

describe('timing (the same figures as tests/protocol/test_timing.py)', () => {
  it.each([
    [600, 60, 60],
    [120, 40, 40],
    [3, 1, 5],
    [1, 1 / 3, 5],
    [0, 0.1, 5],
  ])('keepalive for an idle timeout of %s s: every %s s, answered within %s s', (idle, interval, wait) => {
    expect(keepaliveInterval(idle)).toBeCloseTo(interval);
    expect(keepaliveAckWait(idle)).toBeCloseTo(wait);
  });

  it('refreshes at half of the remaining lifetime, never sooner than half a second', () => {
    expect(refreshDelay(1100, 1000)).toBe(50);
    expect(refreshDelay(1000.4, 1000)).toBe(0.5);
    expect(refreshDelay(900, 1000)).toBe(0.5);
  });
});
