/**
 * The facts the decide step hands the policy engine, exactly: what is present, what is left out, and that a
 * failing engine denies.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PreparedCall } from '../../connectors/contract.js';
import type { CallDecision } from '../../policies/engine.js';
import type { Principal } from '../kernel/index.js';
import type { CatalogTool } from '../services/catalog/index.js';
import {
  callFacts,
  decide,
  decideItem,
  isItemVisible,
  isVisible,
  principalFacts,
  toolFacts,
  withinDeclaredTools,
  type PolicySource,
} from './decide.js';

const principal: Principal = {
  agentId: 'a1',
  roles: ['dev'],
  tenant: 'acme',
  environment: 'prod',
  authMethod: 'oauth',
  taskId: 't1',
  issuer: 'https://idp',
  subject: 'alice',
  scopes: ['mcp'],
  expiresAt: 5,
};
const bare: Principal = { agentId: 'a2', roles: [], authMethod: 'api-key' };

const tool = (overrides: Partial<CatalogTool> = {}): CatalogTool =>
  ({
    exposedName: 'api_get_user',
    connector: { id: 'api', kind: 'http' },
    descriptor: { name: 'get_user', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true } },
    flags: ['shadowing'],
    ...overrides,
  }) as unknown as CatalogTool;

describe('facts for the policy engine', () => {
  it('names only the policy-visible parts of the principal', () => {
    assert.deepEqual(principalFacts(principal), {
      agentId: 'a1',
      roles: ['dev'],
      tenant: 'acme',
      environment: 'prod',
      authMethod: 'oauth',
    });
    const facts = principalFacts(bare);
    assert.deepEqual(facts, { agentId: 'a2', roles: [], authMethod: 'api-key' });
    assert.equal('tenant' in facts, false);
    assert.equal('environment' in facts, false);
  });

  it('describes a tool with its annotations and flags only when it has them', () => {
    assert.deepEqual(toolFacts(tool()), {
      name: 'api_get_user',
      connector: 'api',
      local: 'get_user',
      connectorKind: 'http',
      annotations: { readOnlyHint: true },
      flags: ['shadowing'],
    });
    const plain = toolFacts(
      tool({
        descriptor: { name: 'get_user', inputSchema: { type: 'object' } } as CatalogTool['descriptor'],
        flags: [],
      }),
    );
    assert.deepEqual(plain, { name: 'api_get_user', connector: 'api', local: 'get_user', connectorKind: 'http' });
    assert.equal('annotations' in plain, false);
    assert.equal('flags' in plain, false);
  });

  it('adds the task and the HTTP operation when there are some', () => {
    const call: PreparedCall = {
      tool: 'get_user',
      args: { id: 1 },
      operation: {
        method: 'GET',
        scheme: 'https',
        host: 'api.example',
        port: 443,
        path: '/users/1',
        query: 'x=1',
        url: 'https://api.example:443/users/1?x=1',
      },
    };
    assert.deepEqual(callFacts({ principal: bare, task: { id: 't1' }, tool: tool(), call, now: 42 }), {
      principal: { agentId: 'a2', roles: [], authMethod: 'api-key' },
      task: { id: 't1' },
      tool: toolFacts(tool()),
      http: { method: 'GET', scheme: 'https', host: 'api.example', port: 443, path: '/users/1', query: 'x=1' },
      args: { id: 1 },
      now: 42,
    });
    const mcp = callFacts({ principal: bare, tool: tool(), call: { tool: 'get_user', args: {} }, now: 1 });
    assert.equal('task' in mcp, false);
    assert.equal('http' in mcp, false);
  });
});

describe('decide, isVisible, isItemVisible and decideItem fail closed', () => {
  const broken: PolicySource = {
    current: () => {
      throw new Error('no policy');
    },
  };
  const failing: PolicySource = {
    current: () =>
      ({
        version: '1',
        evaluate: () => {
          throw new Error('engine bug');
        },
        visible: () => {
          throw new Error('engine bug');
        },
        evaluateItem: () => {
          throw new Error('engine bug');
        },
        itemVisible: () => {
          throw new Error('engine bug');
        },
      }) as never,
  };
  const denied = { effect: 'deny', code: 'POLICY_DENIED', rules: [], reason: 'policy evaluation failed' };

  it('denies with POLICY_DENIED when the engine or the policy is missing or throws', () => {
    const facts = callFacts({ principal: bare, tool: tool(), call: { tool: 'get_user', args: {} }, now: 1 });
    for (const source of [broken, failing]) {
      assert.deepEqual(decide(source, facts), denied);
      assert.equal(isVisible(source, bare, tool()), false);
      assert.equal(isItemVisible(source, bare, { kind: 'resource', name: 'x://y', connector: 'x' }), false);
      assert.deepEqual(decideItem(source, bare, { kind: 'resource', uri: 'x://y' } as never), denied);
    }
  });

  it('passes the engine the facts it was given', () => {
    const seen: unknown[] = [];
    const source: PolicySource = {
      current: () =>
        ({
          version: '1',
          evaluate: (f: unknown) => (seen.push(f), { effect: 'allow', rules: ['r'], reason: 'ok' }),
          visible: (p: unknown, t: unknown) => (seen.push([p, t]), true),
          evaluateItem: (f: unknown) => (seen.push(f), { effect: 'allow', rules: [], reason: 'ok' }),
          itemVisible: (f: unknown) => (seen.push(f), true),
        }) as never,
    };
    const facts = callFacts({ principal: bare, tool: tool(), call: { tool: 'get_user', args: {} }, now: 1 });
    assert.equal(decide(source, facts).effect, 'allow');
    assert.equal(isVisible(source, principal, tool()), true);
    assert.equal(decideItem(source, principal, { kind: 'prompt', name: 'p' } as never).effect, 'allow');
    assert.equal(isItemVisible(source, principal, { kind: 'resource', name: 'x://y', connector: 'x' }), true);
    assert.deepEqual(seen, [
      facts,
      [principalFacts(principal), toolFacts(tool())],
      { kind: 'prompt', name: 'p', principal: principalFacts(principal) },
      { kind: 'resource', name: 'x://y', connector: 'x', principal: principalFacts(principal) },
    ]);
  });
});

describe('declared tools', () => {
  const allow: CallDecision = { effect: 'allow', rules: ['r1'], reason: 'allowed by r1' };

  it('needs one declared pattern to match, not all of them', () => {
    assert.equal(
      withinDeclaredTools(allow, { id: 't', declaredTools: ['git_list_*', 'jira_*'] }, 'jira_get').effect,
      'allow',
    );
  });

  it('says why a tool outside the declaration needs an operator', () => {
    assert.deepEqual(withinDeclaredTools(allow, { id: 't', declaredTools: ['jira_*'] }, 'git_push'), {
      effect: 'approve',
      code: 'APPROVAL_REQUIRED',
      reason: 'git_push is outside the tools the task declared',
      rules: ['r1', 'task:declared-tools'],
    });
  });
});
