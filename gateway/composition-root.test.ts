import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';

/**
 * The composition root only composes (docs/architecture.md): each area opens itself from the configuration
 * through its own factory, so wiring a new part costs the root a line or two. A root that grows past this
 * bound is taking on work that belongs in a module.
 */
const MAX_LINES = 150;

describe('composition root', () => {
  it(`main.ts and compose.ts together stay within ${MAX_LINES} lines`, async () => {
    const lines = await Promise.all(
      ['main.ts', 'compose.ts'].map(
        async (file) => (await readFile(new URL(file, import.meta.url), 'utf8')).trimEnd().split('\n').length,
      ),
    );
    const total = lines.reduce((a, b) => a + b, 0);
    assert.ok(total <= MAX_LINES, `main.ts (${lines[0]}) + compose.ts (${lines[1]}) = ${total} lines`);
  });
});
