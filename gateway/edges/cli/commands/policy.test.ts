/** `portcullis policy ...` through the Command itself, with captured output and exit code. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import { policyCommand } from './policy.js';

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../policies/examples');

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  let code = 0;
  const command = policyCommand({
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    setExitCode: (c) => void (code = c),
  });
  command.exitOverride().configureOutput({ writeOut: (t) => void (stdout += t), writeErr: (t) => void (stderr += t) });
  for (const sub of command.commands)
    sub.exitOverride().configureOutput({ writeOut: (t) => void (stdout += t), writeErr: (t) => void (stderr += t) });
  try {
    await command.parseAsync(args, { from: 'user' });
  } catch (error) {
    // What the portcullis entry point does with commander's usage errors.
    if (!(error instanceof CommanderError)) throw error;
    code = error.exitCode === 0 ? 0 : 2;
  }
  return { code, stdout, stderr };
}

describe('portcullis policy', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-policy-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('validate: exit 0 for the examples', async () => {
    const result = await run([
      'validate',
      path.join(examples, 'support-readonly.yaml'),
      path.join(examples, 'coding-agent.yaml'),
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /support-readonly\.yaml: valid \(2 rules\)/);
    assert.match(result.stdout, /policy version sha256:[0-9a-f]{64}/);
  });

  it('validate: exit 1 with file:path: message', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, 'version: 1\nname: bad\nrules:\n  - id: a\n    effect: allow\n    when: "args.x +"\n');
    const result = await run(['validate', file]);
    assert.equal(result.code, 1);
    assert.ok(result.stderr.startsWith(`${file}:rules.0.when (line 6): CEL syntax error`), result.stderr);
  });

  it('validate: exit 2 without files', async () => {
    assert.equal((await run(['validate'])).code, 2);
  });

  it('test: runs inline and sibling cases, exit 0 when all pass', async () => {
    const result = await run([
      'test',
      ...['finance-refunds', 'data-flow'].flatMap((n) => [
        path.join(examples, `${n}.yaml`),
        path.join(examples, `${n}.tests.yaml`),
      ]),
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /pass {2}large refund needs two approvers/);
    assert.match(result.stdout, /14 passed, 0 failed/);
  });

  it('test: exit 1 and a FAIL line when a case fails', async () => {
    const file = path.join(dir, 'inline.yaml');
    await writeFile(
      file,
      `version: 1
name: inline
rules:
  - { id: a, effect: allow, tools: [x_y] }
tests:
  - name: allowed
    facts: { principal: { agentId: a }, tool: x_y }
    expect: { effect: allow, rules: [a] }
  - name: wrongly expected
    facts: { principal: { agentId: a }, tool: x_z }
    expect: { effect: allow }
`,
    );
    const result = await run(['test', file]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /pass {2}allowed/);
    assert.match(result.stdout, /FAIL {2}wrongly expected\n\s+expected effect allow, got deny/);
    assert.match(result.stdout, /1 passed, 1 failed/);
  });

  it('test: exit 1 when there are no cases', async () => {
    const file = path.join(dir, 'untested.yaml');
    await writeFile(file, 'version: 1\nname: untested\nrules: []\n');
    const result = await run(['test', file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no test cases/);
  });

  it('explain: prints the decision and why each rule matched or missed', async () => {
    const facts = path.join(dir, 'facts.json');
    await writeFile(
      facts,
      JSON.stringify({
        principal: { agentId: 'coder-7', tenant: 'acme' },
        tool: 'git_delete_branch',
        http: { method: 'DELETE', path: '/repos/acme/coder-7/git/refs/heads/x' },
      }),
    );
    const result = await run(['explain', '--policy', path.join(examples, 'coding-agent.yaml'), '--facts', facts]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /decision: deny \(POLICY_DENIED\)/);
    assert.match(result.stdout, /MATCH {2}coding\.no-delete \[deny\]: all matchers matched/);
    assert.match(result.stdout, /miss {3}coding\.read \[allow\]: method DELETE is not in \[GET\]/);
  });

  it('explain: egress facts in YAML, JSON output', async () => {
    const facts = path.join(dir, 'egress.yaml');
    await writeFile(
      facts,
      'egress: { connector: crm, host: crm.corp.example, ip: 10.99.0.1, addressClass: private }\n',
    );
    const result = await run([
      'explain',
      '--policy',
      path.join(examples, 'egress-allowlist.yaml'),
      '--facts',
      facts,
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as {
      decision: { effect: string; reason: string };
      trace: { rule: string; outcome: string }[];
    };
    assert.equal(parsed.decision.effect, 'deny');
    assert.match(parsed.decision.reason, /private/);
    assert.equal(parsed.trace.find((t) => t.rule === 'egress.crm')?.outcome, 'missed');
  });

  it('explain: exit 2 for unreadable or malformed facts, 1 for an invalid policy', async () => {
    const policy = path.join(examples, 'coding-agent.yaml');
    assert.equal((await run(['explain', '--policy', policy, '--facts', path.join(dir, 'nope.json')])).code, 2);
    const malformed = path.join(dir, 'malformed.json');
    await writeFile(malformed, JSON.stringify({ principal: {}, tool: 'x' }));
    const result = await run(['explain', '--policy', policy, '--facts', malformed]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /principal\.agentId/);
    const bad = path.join(dir, 'bad-policy.yaml');
    await writeFile(bad, 'version: 2\n');
    const facts = path.join(dir, 'ok.json');
    await writeFile(facts, JSON.stringify({ principal: { agentId: 'a' }, tool: 'x_y' }));
    assert.equal((await run(['explain', '--policy', bad, '--facts', facts])).code, 1);
    assert.equal((await run(['explain', '--facts', facts])).code, 2);
  });

  it('schema: prints the JSON Schema', async () => {
    const result = await run(['schema']);
    assert.equal(result.code, 0);
    const schema = JSON.parse(result.stdout) as { $id: string; properties: Record<string, unknown> };
    assert.match(schema.$id, /policy\.schema\.json$/);
    assert.ok('rules' in schema.properties);
  });
});
