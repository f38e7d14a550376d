import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startGateway } from '../main.js';
import { silentLogger } from '../kernel/log.js';
import { ConfigError, parseConfigText } from './load.js';
import { assertStateOutsidePackages, stateLocationProblem } from './state-location.js';

describe('state location', () => {
  it('refuses any path with a node_modules segment, and nothing else', () => {
    for (const inside of [
      '/srv/app/node_modules/portcullis/dist/examples/demo/.portcullis/keys',
      '/srv/app/node_modules/.portcullis/audit.jsonl',
      'C:\\app\\node_modules\\portcullis\\keys',
    ]) {
      assert.match(stateLocationProblem(inside) ?? '', /inside node_modules/, inside);
    }
    for (const outside of ['/srv/app/.portcullis/keys', '/var/lib/portcullis/audit.jsonl', '/srv/node_modules_old/x']) {
      assert.equal(stateLocationProblem(outside), undefined, outside);
    }
  });

  it('names every offending key of a config whose state would land inside a package', () => {
    const file = '/srv/app/node_modules/portcullis/dist/examples/demo/portcullis.yaml';
    const loaded = parseConfigText('audit:\n  file: ./.portcullis/audit.jsonl\n', file);
    assert.throws(
      () => assertStateOutsidePackages(loaded),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.code === 'CONFIG_INVALID' &&
        error.problems.map((p) => p.path).join(',') === 'audit.file,credentials.devKeyDir',
    );
    // With a configured signing key, devKeyDir is never used and not checked.
    const keyed = parseConfigText('credentials:\n  signingKey: env:SIGNING_KEY\n', file);
    assert.doesNotThrow(() => assertStateOutsidePackages(keyed));
  });

  it('stops the gateway from starting before it writes anything there', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-state-'));
    try {
      const configFile = path.join(dir, 'node_modules', 'portcullis', 'portcullis.yaml');
      const loaded = parseConfigText('listen:\n  port: 0\n', configFile);
      await assert.rejects(startGateway({ loaded, logger: silentLogger() }), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.problems[0]?.path, 'credentials.devKeyDir');
        return true;
      });
      assert.equal(existsSync(path.join(dir, 'node_modules')), false, 'no key directory was created');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
