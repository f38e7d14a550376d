import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertConfigUsable, deploymentProblems } from './checks.js';
import { ConfigError, parseConfigText } from './load.js';

const load = (text: string) => parseConfigText(text, '/srv/portcullis/portcullis.yaml');

describe('configuration checks (config validate and start)', () => {
  it('passes a usable configuration', () => {
    assert.deepEqual(deploymentProblems(load('listen: { port: 0 }')), []);
    assertConfigUsable(load('listen: { port: 0 }'));
  });

  it('names every deployment problem with its path', () => {
    const loaded = load(
      'audit: { file: /srv/app/node_modules/portcullis/audit.jsonl }\ncredentials: { devKeyDir: /srv/app/node_modules/x/keys }',
    );
    assert.deepEqual(
      deploymentProblems(loaded).map((p) => p.path),
      ['audit.file', 'credentials.devKeyDir'],
    );
    assert.throws(
      () => assertConfigUsable(loaded),
      (e: unknown) => e instanceof ConfigError && e.problems.length === 2,
    );
  });

  it('runs the document checks on every load', () => {
    assert.throws(
      () => load('backendCredentials: { nope: { type: bearer, secret: env:X } }'),
      (e: unknown) => e instanceof ConfigError && e.problems[0]?.path === 'backendCredentials.nope',
    );
  });
});
