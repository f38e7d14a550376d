import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { createHealthRouter, type Readiness } from './health-route.js';

const OPERATOR = 'Bearer operator-token';

describe('health endpoints', () => {
  let baseUrl = '';
  let close: () => void = () => undefined;
  let readiness: Readiness = { ready: true, details: { store: 'ok' } };

  before(async () => {
    const app = express();
    app.use(
      createHealthRouter({
        health: () => ({ ok: readiness.ready, version: '1.2.3', policy: { files: ['/etc/portcullis/policy.yaml'] } }),
        readiness: () => readiness,
        authorizeDetails: (req) => {
          if (req.headers.authorization?.toLowerCase() !== OPERATOR.toLowerCase()) throw new Error('not an operator');
        },
      }),
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  after(() => close());

  const get = async (path: string, authorization?: string) => {
    const response = await fetch(`${baseUrl}${path}`, {
      headers: authorization === undefined ? {} : { authorization },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('answers status only without credentials, on /healthz and /readyz, ready or not', async () => {
    readiness = { ready: true, details: { store: 'ok' } };
    assert.deepEqual(await get('/healthz'), { status: 200, body: { ok: true } });
    assert.deepEqual(await get('/readyz'), { status: 200, body: { status: 'ready' } });
    readiness = {
      ready: false,
      reason: 'state store unavailable: connect ECONNREFUSED 10.0.0.7:6379',
      summary: 'state store unavailable',
      details: { store: 'down' },
    };
    assert.deepEqual(await get('/healthz'), { status: 503, body: { ok: false } });
    // Which check fails, by name only: nothing of what it reported (hosts, files) reaches the public answer.
    assert.deepEqual(await get('/readyz'), {
      status: 503,
      body: { status: 'not ready', reason: 'state store unavailable' },
    });
  });

  it('gives the details to an operator', async () => {
    readiness = { ready: false, reason: 'task store unreachable', details: { store: 'down' } };
    const health = await get('/healthz', OPERATOR);
    assert.equal(health.status, 503);
    assert.equal(health.body['version'], '1.2.3');
    assert.deepEqual(await get('/readyz', 'bearer operator-token'), {
      status: 503,
      body: { status: 'not ready', reason: 'task store unreachable', details: { store: 'down' } },
    });
  });

  it('answers 401 and nothing else to any other credential', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const answer = await get(path, 'Bearer someone-else');
      assert.equal(answer.status, 401);
      assert.deepEqual(Object.keys(answer.body), ['error']);
    }
  });
});
