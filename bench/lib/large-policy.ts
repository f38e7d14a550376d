/**
 * The policy `portcullis-10k-rules` serves the benchmark with: the policy micro-benchmark's 10,000 rules
 * (bench/policy-bench.ts, the same generator and seed), so that the decision time measured one decision at
 * a time in an idle process can be read again in a gateway serving the benchmark.
 *
 * The generated rules name tools the echo server does not have, so one in a hundred of them is aimed at the
 * benchmark's tool instead, each for the agents or roles it names, none of them the benchmark's (as per-agent
 * baselines in a large policy name the same tool for many agents): the engine files them under the tool and
 * their agents and roles, and a decision for the benchmark's agent reads past them as it reads past other
 * agents' baselines, besides the rules with leading globs that every decision looks at. One more rule allows
 * the benchmark's role the tool with a CEL condition on the argument, so a decision also evaluates a
 * condition. The agent's own baseline (`tools: ['*']` in the benchmark's configuration) allows the call as
 * before.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AGENT_ROLES } from '../../test/conformance/gateway-process.js';
import { generateRules, prng } from '../policy-bench.js';

export const LARGE_POLICY_RULES = 10_000;

export function largePolicyDocument(options: { tool: string; role: string }): Record<string, unknown> {
  const { rules } = generateRules(LARGE_POLICY_RULES, prng(LARGE_POLICY_RULES));
  const aimed = rules.map((rule, i) => {
    if (i % 100 !== 7) return rule;
    // The same rule, about the benchmark's tool: no HTTP operation (the echo tool is an MCP tool's).
    const { http: _http, tools: _tools, ...rest } = rule;
    return { ...rest, tools: [options.tool] };
  });
  aimed.push({
    id: 'bench-role-short-text',
    effect: 'allow',
    tools: [options.tool],
    principal: { roles: [options.role] },
    when: 'has(args.text) && size(args.text) <= 65536',
  });
  return { version: 1, name: `bench-${LARGE_POLICY_RULES}`, rules: aimed };
}

/**
 * `largePolicyDocument` for the benchmark's gateway (its echo tool as the gateway exposes it, `echo_echo`, and
 * the role `startGatewayProcess` gives its agent) in a file of its own folder (JSON, which YAML reads as it
 * is), removed by `remove`.
 */
export async function writeLargePolicyFile(): Promise<{ file: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-bench-policy-'));
  const file = path.join(dir, 'large-policy.yaml');
  await writeFile(file, JSON.stringify(largePolicyDocument({ tool: 'echo_echo', role: AGENT_ROLES[0]! })));
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}
