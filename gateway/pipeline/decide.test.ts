import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compileNameGlob } from '../../policies/glob.js';
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

  it('reads declared tools in the policy name-glob dialect: only `*` and `?` are wildcards', () => {
    // Patterns an agent may send that other glob dialects read as negation, alternation, classes or
    // path segments. Here they are literal text, so none of these widens the declaration.
    const outside: [pattern: string, tool: string][] = [
      ['!git_delete_repo', 'git_list_issues'],
      ['git_{list,delete}_*', 'git_delete_repo'],
      ['git_[a-z]*', 'git_delete_repo'],
      ['git_+(list|delete)_*', 'git_delete_repo'],
      ['git_@(delete)_repo', 'git_delete_repo'],
      ['git_list_\\*', 'git_list_x'],
      ['**/git_delete_repo', 'git_delete_repo'],
      ['GIT_DELETE_REPO', 'git_delete_repo'],
    ];
    for (const [pattern, tool] of outside) {
      const decided = withinDeclaredTools(allow, { id: 't', declaredTools: [pattern] }, tool);
      assert.equal(decided.effect, 'approve', `${pattern} must not cover ${tool}`);
    }
    const inside: [pattern: string, tool: string][] = [
      ['git_*', 'git_delete_repo'],
      ['git_?elete_repo', 'git_delete_repo'],
      ['*', 'git_delete_repo'],
      ['git_list_*', 'git_list_.hidden'],
      ['git_list_*', 'git_list_a/b'],
      ['git_{x}', 'git_{x}'],
      ['git_[a]', 'git_[a]'],
      ['!x', '!x'],
    ];
    for (const [pattern, tool] of inside) {
      const decided = withinDeclaredTools(allow, { id: 't', declaredTools: [pattern] }, tool);
      assert.equal(decided.effect, 'allow', `${pattern} covers ${tool}`);
    }
  });

  it('matches declared tools exactly as the policy engine matches tool globs, for any pattern', () => {
    const alphabet = fc.constantFrom(
      'a',
      'b',
      '_',
      '*',
      '?',
      '!',
      '{',
      '}',
      ',',
      '[',
      ']',
      '/',
      '.',
      '\\',
      '(',
      ')',
      '+',
      '@',
    );
    fc.assert(
      fc.property(
        fc.string({ unit: alphabet, maxLength: 8 }),
        fc.string({ unit: alphabet, maxLength: 8 }),
        (pattern, tool) => {
          const declared = withinDeclaredTools(allow, { id: 't', declaredTools: [pattern] }, tool).effect === 'allow';
          assert.equal(
            declared,
            compileNameGlob(pattern)(tool),
            `pattern ${JSON.stringify(pattern)} on ${JSON.stringify(tool)}`,
          );
        },
      ),
      { numRuns: 2000 },
    );
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
