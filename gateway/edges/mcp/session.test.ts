import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import type { Principal } from '../../kernel/index.js';
import { samePrincipal, sessionScope, type McpSession } from './session.js';

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

describe('sessionScope', () => {
  function session(extra: Partial<McpSession> = {}): McpSession {
    return {
      id: 'sess-1',
      principal: opener,
      task: { id: 'task-1', intent: 'triage' },
      logLevel: 'info',
      subscriptions: new Set(['file:///a']),
      lastActivity: 0,
      connection: { transport: 'tcp', protocolName: 'http' },
      openedAt: 0,
      ...extra,
    };
  }

  it('reads principal, task, log level, subscriptions and connection from the session', async () => {
    const s = session();
    const scope = sessionScope(s, true);
    assert.equal(scope.principal, opener);
    assert.deepEqual(await scope.task(), { id: 'task-1', intent: 'triage' });
    assert.equal(scope.logLevel(), 'info');
    assert.equal(scope.subscriptions, s.subscriptions);
    assert.deepEqual(scope.connection, { transport: 'tcp', protocolName: 'http' });
  });

  it('follows the session as it changes, and sets the log level on the session', async () => {
    const s = session();
    const scope = sessionScope(s, false);
    const later: Principal = { ...opener, expiresAt: 2_000 };
    s.principal = later;
    s.task = { id: 'task-2' };
    s.connection = { transport: 'tcp', protocolName: 'http', protocolVersion: '2025-06-18' };
    assert.equal(scope.principal, later);
    assert.deepEqual(await scope.task(), { id: 'task-2' });
    assert.equal(scope.connection.protocolVersion, '2025-06-18');
    scope.setLogLevel?.('error');
    assert.equal(s.logLevel, 'error');
    assert.equal(scope.logLevel(), 'error');
  });

  it('names the session only when it has a wire id', () => {
    assert.equal(sessionScope(session(), true).sessionId, 'sess-1');
    assert.equal('sessionId' in sessionScope(session(), false), false);
  });

  it('carries the trace context only when the session has one', () => {
    const traced = ROOT_CONTEXT.setValue(createContextKey('test'), 'task-span');
    assert.equal(sessionScope(session({ traceContext: traced }), true).traceContext, traced);
    assert.equal('traceContext' in sessionScope(session(), true), false);
  });
});
