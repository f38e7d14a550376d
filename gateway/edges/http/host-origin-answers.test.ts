/**
 * What the Host/Origin guard answers, exactly, and the edges of its rules: a request without Host, a
 * gateway on a public address with and without `allowedHosts`, and loopback origins over https.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Request, Response } from 'express';
import { hostOriginGuard } from './host-origin.js';

interface Answer {
  status: number;
  body?: unknown;
}

function run(guard: ReturnType<typeof hostOriginGuard>, headers: Record<string, string | undefined>): Answer {
  const answer: Answer = { status: 0 };
  const res = {
    status: (s: number) => ((answer.status = s), res),
    json: (body: unknown) => ((answer.body = body), res),
  } as unknown as Response;
  guard({ headers } as unknown as Request, res, () => (answer.status = 200));
  return answer;
}

const loopback = hostOriginGuard({ listenHost: '127.0.0.1', allowedHosts: [], allowedOrigins: [] });

describe('host and origin guard answers', () => {
  it('refuses a bad Host with a JSON-RPC error naming the Host', () => {
    assert.deepEqual(run(loopback, { host: 'evil.example' }), {
      status: 403,
      body: { jsonrpc: '2.0', error: { code: -32000, message: 'Forbidden: Host not allowed' }, id: null },
    });
  });

  it('refuses a bad Origin with a JSON-RPC error naming the Origin', () => {
    assert.deepEqual(run(loopback, { host: '127.0.0.1', origin: 'https://evil.example' }), {
      status: 403,
      body: { jsonrpc: '2.0', error: { code: -32000, message: 'Forbidden: Origin not allowed' }, id: null },
    });
  });

  it('refuses a request without a Host header, on loopback and elsewhere', () => {
    assert.equal(run(loopback, {}).status, 403);
    const open = hostOriginGuard({ listenHost: '0.0.0.0', allowedHosts: [], allowedOrigins: [] });
    assert.equal(run(open, {}).status, 403);
  });

  it('on a public address, accepts any Host until allowedHosts names some, then only those', () => {
    const open = hostOriginGuard({ listenHost: '0.0.0.0', allowedHosts: [], allowedOrigins: [] });
    assert.equal(run(open, { host: 'gw.example.com' }).status, 200);
    const named = hostOriginGuard({
      listenHost: '0.0.0.0',
      allowedHosts: ['  gw.example.com  ', 'api.example.com:8443'],
      allowedOrigins: [],
    });
    assert.equal(run(named, { host: 'gw.example.com' }).status, 200);
    assert.equal(run(named, { host: 'gw.example.com:443' }).status, 200);
    assert.equal(run(named, { host: 'api.example.com:8443' }).status, 200);
    assert.equal(run(named, { host: 'api.example.com' }).status, 403);
    assert.equal(run(named, { host: 'other.example.com' }).status, 403);
    assert.equal(run(named, { host: '127.0.0.1' }).status, 403);
  });

  it('on loopback, accepts http and https loopback origins and nothing else without configuration', () => {
    for (const origin of ['http://127.0.0.1:3000', 'https://localhost', 'https://[::1]:8443'])
      assert.equal(run(loopback, { host: '127.0.0.1', origin }).status, 200, origin);
    for (const origin of ['ws://127.0.0.1', 'ftp://localhost', 'file://localhost', 'https://localhost.example'])
      assert.equal(run(loopback, { host: '127.0.0.1', origin }).status, 403, origin);
  });

  it('on a public address, accepts only configured origins, loopback ones too', () => {
    const open = hostOriginGuard({
      listenHost: '0.0.0.0',
      allowedHosts: [],
      allowedOrigins: ['https://console.example.com'],
    });
    assert.equal(run(open, { host: 'gw', origin: 'https://console.example.com' }).status, 200);
    assert.equal(run(open, { host: 'gw', origin: 'https://localhost' }).status, 403);
    assert.equal(run(open, { host: 'gw', origin: 'http://127.0.0.1' }).status, 403);
  });
});
