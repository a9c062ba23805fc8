/**
 * node/ and hub/ never import each other; what both need lives in shared/, and shared/ imports
 * neither. Read from the sources' import and export-from lines (dynamic imports included).
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|js)$/.test(n) ? [p] : [];
  });
}

/** The top-level folder each relative import of `file` lands in. */
export function importedFolders(file: string, text: string): string[] {
  const specs = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specs.map((s) => relative(ROOT, resolve(dirname(file), s)).split(/[\\/]/)[0]!);
}

const crossings = (from: string, forbidden: string[]) =>
  sources(join(ROOT, from)).flatMap((f) =>
    importedFolders(f, readFileSync(f, 'utf8'))
      .filter((top) => forbidden.includes(top))
      .map((top) => `${relative(ROOT, f)} imports ${top}/`),
  );

describe('module boundaries', () => {
  it('node/ imports nothing from hub/', () => expect(crossings('node', ['hub'])).toEqual([]));
  it('hub/ imports nothing from node/', () => expect(crossings('hub', ['node'])).toEqual([]));
  it('shared/ imports neither hub/ nor node/', () => expect(crossings('shared', ['hub', 'node'])).toEqual([]));
  it('sees an import that crosses (the check is not blind)', () => {
    const file = join(ROOT, 'node/api/x.ts');
    expect(importedFolders(file, "import { FailureLimiter } from '../../hub/ratelimit.js';\nconst m = await import('../../hub/openapi.js');")).toEqual([
      'hub',
      'hub',
    ]);
  });
});
