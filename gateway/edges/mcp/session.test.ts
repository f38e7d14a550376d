import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Principal } from '../../kernel/index.js';
import { samePrincipal } from './session.js';

const opener: Principal = {
  agentId: 'bot',
  roles: ['reader'],
  tenant: 'acme',
  authMethod: 'oauth',
  issuer: 'https://idp.example',
  subject: 'alice',
  scopes: ['mcp:tools'],
  expiresAt: 1_000,
};

describe('session binding', () => {
  it('binds to every part of the principal: each one differing alone makes another principal', () => {
    const variants: [string, Principal][] = [
      ['authMethod', { ...opener, authMethod: 'spiffe' }],
      ['agentId', { ...opener, agentId: 'other' }],
      ['taskId', { ...opener, taskId: 't_1' }],
      ['tenant', { ...opener, tenant: 'globex' }],
      [
        'no tenant',
        { agentId: 'bot', roles: ['reader'], authMethod: 'oauth', issuer: 'https://idp.example', subject: 'alice' },
      ],
      ['issuer', { ...opener, issuer: 'https://other-idp.example' }],
      ['subject', { ...opener, subject: 'bob' }],
    ];
    for (const [part, other] of variants) {
      assert.equal(samePrincipal(opener, other), false, part);
      assert.equal(samePrincipal(other, opener), false, part);
    }
  });

  it('a fresh credential of the same principal (new expiry, scopes) is the same principal', () => {
    assert.equal(samePrincipal(opener, { ...opener, expiresAt: 2_000, scopes: ['mcp:tools', 'extra'] }), true);
  });
});
