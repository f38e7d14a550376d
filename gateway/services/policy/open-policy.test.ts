import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { parseConfigText } from '../../config/index.js';
import { createLogger } from '../../kernel/index.js';
import { readPolicyFiles } from './load.js';
import { REFERENCE_WARNINGS_LOGGED, warnUnknownReferences } from './open-policy.js';

/** A policy with `agents` rules each naming an agent the configuration does not have, and one known rule. */
function policyNaming(agents: number): string {
  const rules = Array.from(
    { length: agents },
    (_, i) => `  - id: r${i}\n    effect: allow\n    tools: [crm_get]\n    principal: { agents: [ghost-${i}] }\n`,
  );
  // A rule every part of which is known: for the unknown ones to be all there is to find.
  const known = `  - id: known\n    effect: allow\n    tools: [crm_get]\n`;
  return `version: 1\nname: ghosts\nrules:\n${rules.join('')}${known}`;
}

/** The JSON lines warnUnknownReferences logs for a policy file with `agents` unknown agents. */
async function warningsFor(dir: string, agents: number): Promise<Record<string, unknown>[]> {
  const file = path.join(dir, `ghosts-${agents}.yaml`);
  await writeFile(file, policyNaming(agents));
  const config = parseConfigText('listen:\n  port: 0\n', path.join(dir, 'portcullis.yaml'));
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  const catalog = { tools: () => [{ exposedName: 'crm_get' }] };
  warnUnknownReferences(await readPolicyFiles([file]), config.config, catalog, createLogger({ destination: out }));
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('unknown policy references at start', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-refs-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('logs each one while there are few', async () => {
    const lines = await warningsFor(dir, 3);
    assert.deepEqual(
      lines.map((l) => [l['level'], l['rule'], l['msg']]),
      [0, 1, 2].map((i) => [40, `r${i}`, `agent "ghost-${i}" matches no configured agent`]),
    );
    assert.ok(lines.every((l) => typeof l['line'] === 'number' && typeof l['file'] === 'string'));
  });

  it('logs the first ones and counts the rest in one line, however many a policy names', async () => {
    const total = REFERENCE_WARNINGS_LOGGED + 480;
    const lines = await warningsFor(dir, total);
    assert.equal(lines.length, REFERENCE_WARNINGS_LOGGED + 1);
    assert.deepEqual(
      lines.slice(0, REFERENCE_WARNINGS_LOGGED).map((l) => l['rule']),
      Array.from({ length: REFERENCE_WARNINGS_LOGGED }, (_, i) => `r${i}`),
      'the first findings, in the policy order',
    );
    const summary = lines.at(-1)!;
    assert.equal(summary['level'], 40);
    assert.equal(summary['more'], 480);
    assert.equal(summary['total'], total);
    assert.match(String(summary['msg']), /^480 more policy rule references name no configured agent/);
    assert.match(String(summary['msg']), /portcullis config validate/);
  });

  it('logs nothing when every reference is known', async () => {
    assert.deepEqual(await warningsFor(dir, 0), []);
  });
});
