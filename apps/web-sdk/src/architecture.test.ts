// @vitest-environment node
/**
 * The layering of the web SDK (README, "Layout"), checked on the import statements: no
 * import cycle between files, and each folder imports only the folders below it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname);

/** Folder -> the folders (besides itself) its files may import. */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  context: ['core'],
  hooks: ['core', 'context'],
  components: ['core', 'context', 'hooks', '.'],
  prefabs: ['core', 'context', 'hooks', 'components', '.'],
  '.': ['core', 'context', 'hooks', 'components', 'prefabs'],
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'test-utils' ? [] : sources(path);
    return /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) ? [path] : [];
  });
}

function resolveImport(from: string, spec: string, files: Set<string>): string | null {
  if (!spec.startsWith('.')) return null;
  // relative imports name the emitted file (`./room.js`, `./hooks/index.js`), as Node's ESM
  // resolution needs in the published declarations
  if (!spec.endsWith('.js')) throw new Error(`${relative(SRC, from)}: '${spec}' has no .js`);
  const base = resolve(dirname(from), spec.slice(0, -'.js'.length));
  for (const candidate of [`${base}.ts`, `${base}.tsx`]) {
    if (files.has(candidate)) return candidate;
  }
  throw new Error(`${relative(SRC, from)}: cannot resolve '${spec}'`);
}

function graph(): Map<string, string[]> {
  const files = new Set(sources(SRC));
  const edges = new Map<string, string[]>();
  const pattern = /^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm;
  for (const file of files) {
    const text = readFileSync(file, 'utf-8');
    const targets: string[] = [];
    for (const match of text.matchAll(pattern)) {
      const target = resolveImport(file, match[1]!, files);
      if (target) targets.push(target);
    }
    edges.set(file, targets);
  }
  return edges;
}

function folder(file: string): string {
  const parts = relative(SRC, file).split('/');
  return parts.length > 1 ? parts[0]! : '.';
}

describe('web SDK layering', () => {
  it('has no import cycle', () => {
    const edges = graph();
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (file: string): void => {
      state.set(file, 'open');
      path.push(file);
      for (const next of edges.get(file) ?? []) {
        if (state.get(next) === 'open') {
          cycles.push([...path.slice(path.indexOf(next)), next].map((f) => relative(SRC, f)).join(' -> '));
        } else if (!state.has(next)) {
          visit(next);
        }
      }
      path.pop();
      state.set(file, 'done');
    };
    for (const file of edges.keys()) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });

  it('imports only downwards: core <- context <- hooks <- components <- prefabs', () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph()) {
      const from = folder(file);
      for (const target of targets) {
        const to = folder(target);
        if (to !== from && !(ALLOWED[from] ?? []).includes(to)) {
          wrong.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
