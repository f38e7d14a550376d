import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childEnvironment } from './transport.js';

describe('childEnvironment', () => {
  it('passes a minimal inherited base plus the configured variables, not the whole environment', () => {
    process.env.PORTCULLIS_UNIT_SECRET = 'gateway-only';
    try {
      const env = childEnvironment({ env: { UPSTREAM_TOKEN_FILE: '/run/token', PATH: '/custom/bin' } });
      assert.equal(env.UPSTREAM_TOKEN_FILE, '/run/token');
      assert.equal(env.PATH, '/custom/bin', 'configured values win over inherited ones');
      assert.equal(env.PORTCULLIS_UNIT_SECRET, undefined);
      for (const key of Object.keys(env)) {
        assert.ok(
          ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER', 'UPSTREAM_TOKEN_FILE'].includes(key),
          `unexpected ${key}`,
        );
      }
    } finally {
      delete process.env.PORTCULLIS_UNIT_SECRET;
    }
  });
});
