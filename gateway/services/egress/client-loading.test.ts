/**
 * The guard's HTTP client (undici) is not loaded when the gateway starts: the gateway loads it once it
 * serves (`preloadEgressClient`), or the first request that passes the URL check does. Each test file runs
 * in a process of its own: nothing here may import undici itself.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Decision, EgressFacts } from '../../../policies/types.js';
import { eventually } from '../../../test/helpers/eventually.js';
import { EgressDeniedError } from './errors.js';
import { createEgressGuard, preloadEgressClient } from './guard.js';

const require = createRequire(import.meta.url);
const undiciLoaded = (): boolean => Object.keys(require.cache).some((file) => file.includes('/node_modules/undici/'));

const loopbackOnly = (facts: EgressFacts): Decision =>
  facts.host === '127.0.0.1'
    ? { effect: 'allow', rules: ['loopback'], reason: '' }
    : { effect: 'deny', rules: [], reason: 'not loopback' };

let server: Server;
let port: number;
let requests = 0;

before(async () => {
  server = createServer((_req, res) => {
    requests += 1;
    res.end('fine');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('the egress HTTP client', () => {
  it('is not loaded by creating a guard, nor by a request refused at the URL check; preloadEgressClient loads it', async () => {
    assert.equal(undiciLoaded(), false, 'undici was loaded before any guard existed');
    const guard = createEgressGuard({ decide: loopbackOnly });
    try {
      assert.equal(undiciLoaded(), false, 'creating a guard loaded undici');
      const fetch = guard.fetchFor({ connector: 'c' });
      await assert.rejects(fetch('http://example.invalid/'), EgressDeniedError);
      assert.equal(undiciLoaded(), false, 'a refused request loaded undici');
      assert.equal(requests, 0);

      preloadEgressClient();
      await eventually(undiciLoaded, 'preloadEgressClient to load undici');
      const response = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(await response.text(), 'fine');
      assert.equal(requests, 1);
    } finally {
      await guard.close();
    }
  });

  it('is loaded by the first request that passes the URL check, when nothing loaded it before', async () => {
    // A process of its own, where nothing has loaded undici yet and nothing preloads it.
    const script = [
      "import { createRequire } from 'node:module';",
      `const { createEgressGuard } = await import(${JSON.stringify(new URL('./guard.ts', import.meta.url).href)});`,
      'const cache = createRequire(import.meta.url).cache;',
      "const loaded = () => Object.keys(cache).some((file) => file.includes('/node_modules/undici/'));",
      "const guard = createEgressGuard({ decide: () => ({ effect: 'allow', rules: ['all'], reason: '' }) });",
      'process.stdout.write(`before:${loaded()} `);',
      `const response = await guard.fetchFor({ connector: 'c' })('http://127.0.0.1:${port}/');`,
      'process.stdout.write(`${await response.text()} after:${loaded()}`);',
      'await guard.close();',
    ].join('\n');
    // Asynchronously: the child's request is answered by this process's server.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: fileURLToPath(new URL('../../..', import.meta.url)),
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.equal(stdout, 'before:false fine after:true');
    assert.equal(requests, 2);
  });
});
