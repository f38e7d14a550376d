import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Request, Response } from 'express';
import { hostOriginGuard } from './host-origin.js';

function run(guard: ReturnType<typeof hostOriginGuard>, headers: Record<string, string>): number {
  let status = 0;
  const res = { status: (s: number) => ((status = s), res), json: () => res } as unknown as Response;
  guard({ headers } as Request, res, () => (status = 200));
  return status;
}

describe('Host/Origin guard', () => {
  const loopback = hostOriginGuard({
    listenHost: '127.0.0.1',
    allowedHosts: [],
    allowedOrigins: ['https://console.example.com'],
  });

  it('accepts loopback hosts on a loopback listener', () => {
    assert.equal(run(loopback, { host: '127.0.0.1:8787' }), 200);
    assert.equal(run(loopback, { host: 'localhost:8787' }), 200);
    assert.equal(run(loopback, { host: '[::1]:8787' }), 200);
  });

  it('rejects a rebound DNS name on a loopback listener', () => {
    assert.equal(run(loopback, { host: 'attacker.example:8787' }), 403);
  });

  it('rejects a foreign Origin and accepts configured and loopback ones', () => {
    assert.equal(run(loopback, { host: 'localhost:8787', origin: 'https://evil.example' }), 403);
    assert.equal(run(loopback, { host: 'localhost:8787', origin: 'https://console.example.com' }), 200);
    assert.equal(run(loopback, { host: 'localhost:8787', origin: 'http://localhost:6274' }), 200);
  });

  it('enforces allowedHosts on other listeners', () => {
    const guard = hostOriginGuard({ listenHost: '0.0.0.0', allowedHosts: ['gw.example.com'], allowedOrigins: [] });
    assert.equal(run(guard, { host: 'gw.example.com' }), 200);
    assert.equal(run(guard, { host: 'gw.example.com:443' }), 200);
    assert.equal(run(guard, { host: 'other.example.com' }), 403);
    assert.equal(run(guard, { host: 'localhost', origin: 'http://localhost' }), 403);
  });
});
