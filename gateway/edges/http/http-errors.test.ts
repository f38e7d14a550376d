import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { z } from 'zod';
import { AuthError, GatewayError } from '../../kernel/index.js';
import { StoreUnavailableError } from '../../services/tasks/index.js';
import { ApprovalError } from '../../services/approvals/index.js';
import { EgressDeniedError } from '../../services/egress/index.js';
import { errorMiddleware, sendError } from './http-errors.js';

describe('HTTP error mapper', () => {
  let base: string;
  let server: ReturnType<ReturnType<typeof express>['listen']>;
  const internal: unknown[] = [];

  before(async () => {
    const app = express();
    const throwing = (error: () => unknown) => (_req: express.Request, res: express.Response) =>
      sendError(res, error(), (e) => internal.push(e));
    app.post('/body', express.json({ limit: '64b' }), (req, res) =>
      sendError(res, z.object({ name: z.string() }).strict().safeParse(req.body).error ?? new Error('unreachable')),
    );
    app.get(
      '/zod',
      throwing(() => z.object({ a: z.string() }).safeParse({}).error),
    );
    app.get(
      '/store',
      throwing(() => new StoreUnavailableError('state store unavailable')),
    );
    app.get(
      '/approval',
      throwing(() => new ApprovalError('NOT_PENDING', 'the request was already decided')),
    );
    app.get(
      '/auth',
      throwing(() => new AuthError('UNAUTHENTICATED', 'missing credentials', 'invalid_request')),
    );
    app.get(
      '/egress',
      throwing(
        () =>
          new EgressDeniedError({ scheme: 'http', host: '10.0.0.1', port: 80, rules: [], reason: 'private address' }),
      ),
    );
    app.get(
      '/gateway',
      throwing(() => new GatewayError('SHUTTING_DOWN', 'the gateway is shutting down')),
    );
    app.get(
      '/bug',
      throwing(() => new TypeError('cannot read properties of undefined (secret=abc)')),
    );
    app.use(errorMiddleware((e) => internal.push(e)));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  const table: [string, RequestInit | undefined, number, string][] = [
    [
      '/body',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":' },
      400,
      'INVALID_REQUEST',
    ],
    [
      '/body',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' },
      400,
      'INVALID_REQUEST',
    ],
    [
      '/body',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'x'.repeat(100) }),
      },
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    ['/zod', undefined, 400, 'INVALID_REQUEST'],
    ['/store', undefined, 503, 'STORE_UNAVAILABLE'],
    ['/approval', undefined, 409, 'NOT_PENDING'],
    ['/auth', undefined, 401, 'UNAUTHENTICATED'],
    ['/egress', undefined, 403, 'EGRESS_DENIED'],
    ['/gateway', undefined, 503, 'SHUTTING_DOWN'],
    ['/bug', undefined, 500, 'INTERNAL'],
  ];
  for (const [path, init, status, code] of table) {
    it(`${init?.body !== undefined ? `${path} ${String(init.body).slice(0, 12)}` : path} -> ${status} ${code}`, async () => {
      const res = await fetch(`${base}${path}`, init);
      assert.equal(res.status, status);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, code);
      assert.equal(typeof body.error.message, 'string');
    });
  }

  it('answers a bug with a generic message, logs it, and never echoes its text', async () => {
    internal.length = 0;
    const res = await fetch(`${base}/bug`);
    const text = await res.text();
    assert.doesNotMatch(text, /secret|undefined/);
    assert.equal(internal.length, 1);
  });

  it('sets WWW-Authenticate for credential errors', async () => {
    const res = await fetch(`${base}/auth`);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_request"');
  });
});
