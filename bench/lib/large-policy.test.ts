import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicy, parsePolicyObject, type CallFacts } from '../../policies/index.js';
import { existsSync } from 'node:fs';
import { readPolicyFiles } from '../../gateway/services/policy/index.js';
import { AGENT_ROLES } from '../../test/conformance/gateway-process.js';
import { largePolicyDocument, LARGE_POLICY_RULES, writeLargePolicyFile } from './large-policy.js';

const call = (agentId: string, roles: string[], text: unknown): CallFacts => ({
  principal: { agentId, roles, authMethod: 'api-key' },
  tool: { name: 'echo_echo', connector: 'echo', local: 'echo', connectorKind: 'mcp' },
  args: { text },
  now: Date.UTC(2026, 0, 1),
});

describe('the benchmark policy of 10,000 rules', () => {
  const document = largePolicyDocument({ tool: 'echo_echo', role: 'tester' });
  const engine = compilePolicy([parsePolicyObject(document, 'large-policy.yaml')]);

  it('compiles as a policy file, with about a hundred rules aimed at the tool besides its own', () => {
    const rules = document['rules'] as { tools?: string[] }[];
    assert.equal(rules.length, LARGE_POLICY_RULES + 1);
    const aimed = rules.filter((rule) => rule.tools?.includes('echo_echo')).length;
    assert.ok(aimed >= 90 && aimed <= 110, `${aimed} rules name the tool`);
  });

  it("allows the benchmark's role the tool through a condition on its argument, and not an agent no rule names", () => {
    assert.deepEqual(engine.evaluate(call('bench-agent', ['tester'], 'hello')).rules, ['bench-role-short-text']);
    assert.equal(engine.evaluate(call('bench-agent', ['tester'], 7)).effect, 'deny', 'the condition is evaluated');
    assert.equal(engine.evaluate(call('nobody', [], 'hello')).effect, 'deny');
  });

  it("is written as a policy file for the benchmark's gateway (its tool and its agent's role), and removed", async () => {
    const written = await writeLargePolicyFile();
    try {
      const [parsed] = await readPolicyFiles([written.file]);
      const rules = parsed!.document.rules;
      assert.equal(rules.length, LARGE_POLICY_RULES + 1);
      assert.deepEqual(rules.at(-1)?.principal?.roles, [AGENT_ROLES[0]]);
      assert.deepEqual(rules.at(-1)?.tools, ['echo_echo']);
    } finally {
      await written.remove();
    }
    assert.equal(existsSync(written.file), false);
  });
});
