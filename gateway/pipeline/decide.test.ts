import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CallDecision } from '../../policies/engine.js';
import { decide, withinDeclaredTools } from './decide.js';

const allow: CallDecision = { effect: 'allow', rules: ['r1'], reason: 'allowed by r1' };

describe('decide step', () => {
  it('keeps an allow for a tool the task declared (globs too)', () => {
    assert.equal(
      withinDeclaredTools(allow, { id: 't', declaredTools: ['git_list_*'] }, 'git_list_issues').effect,
      'allow',
    );
    assert.equal(
      withinDeclaredTools(allow, { id: 't' }, 'git_delete_repo').effect,
      'allow',
      'no declaration: policy alone decides',
    );
  });

  it('turns an allow outside the declared tools into an operator decision, never a silent allow', () => {
    const decided = withinDeclaredTools(allow, { id: 't', declaredTools: ['git_list_*'] }, 'git_delete_repo');
    assert.equal(decided.effect, 'approve');
    assert.deepEqual(decided.rules, ['r1', 'task:declared-tools']);
  });

  it('leaves deny and approve as they are', () => {
    const deny: CallDecision = { effect: 'deny', code: 'POLICY_DENIED', rules: [], reason: 'no rule' };
    assert.equal(withinDeclaredTools(deny, { id: 't', declaredTools: [] }, 'x_y'), deny);
  });

  it('fails closed when the engine throws', () => {
    const decision = decide(
      {
        current: () => {
          throw new Error('broken policy');
        },
      },
      {
        principal: { agentId: 'a', roles: [] },
        tool: { name: 'x_y', connector: 'x', local: 'y', connectorKind: 'http' },
        args: {},
        now: 0,
      },
    );
    assert.equal(decision.effect, 'deny');
  });
});
