/** The shipped example packs compile and their own test cases pass. */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compilePolicy, parsePolicyTestsYaml, parsePolicyYaml, runPolicyTests } from './index.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'examples');
const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml') && !f.endsWith('.tests.yaml')).sort();

describe('example policy packs', () => {
  it('ships the five packs, loadable together', async () => {
    assert.deepEqual(files, [
      'coding-agent.yaml',
      'data-flow.yaml',
      'egress-allowlist.yaml',
      'finance-refunds.yaml',
      'support-readonly.yaml',
    ]);
    const docs = await Promise.all(
      files.map(async (f) => parsePolicyYaml(await readFile(path.join(dir, f), 'utf8'), f)),
    );
    assert.ok(compilePolicy(docs).ruleCount > 10);
  });
  for (const file of files) {
    it(`${file}: its test cases pass`, async () => {
      const engine = compilePolicy([parsePolicyYaml(await readFile(path.join(dir, file), 'utf8'), file)]);
      const testsFile = file.replace(/\.yaml$/, '.tests.yaml');
      const cases = parsePolicyTestsYaml(await readFile(path.join(dir, testsFile), 'utf8'), testsFile);
      assert.ok(cases.length >= 5);
      const report = runPolicyTests(engine, cases);
      assert.deepEqual(
        report.results.filter((r) => !r.passed).map((r) => `${r.name}: ${r.failures.join('; ')}`),
        [],
      );
      assert.equal(report.passed, cases.length);
    });
  }
  it('a failing expectation is reported', () => {
    const engine = compilePolicy([]);
    const report = runPolicyTests(engine, [
      {
        name: 'wrong',
        facts: { principal: { agentId: 'a', roles: [] }, tool: 'x_y', args: {} },
        expect: { effect: 'allow' },
      },
    ]);
    assert.equal(report.failed, 1);
    assert.match(report.results[0]!.failures[0]!, /expected effect allow, got deny/);
  });
});
