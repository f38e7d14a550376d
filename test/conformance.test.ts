/**
 * MCP conformance through the gateway: the official conformance suite's server scenarios, run against
 * the CLI-started gateway fronting an upstream that implements everything the scenarios exercise.
 *
 * 1. The suite runs straight against the upstream fixture (over Streamable HTTP): every scenario must
 *    pass, which proves the fixture right.
 * 2. The suite runs against the gateway at both protocol revisions the gateway serves: 2025-11-25 (sessions,
 *    in front of the 2025-era fixture) and 2026-07-28 (stateless, every scenario of that revision: `--suite
 *    all`, in front of the 2026-07-28-era fixture, see conformance/gateway-under-test.ts). Every scenario must pass
 *    unless it is listed for that revision in `test/conformance/expected-failures.yaml` with the reason it
 *    cannot pass through a gateway; a listed scenario that passes fails the test too, so the list stays
 *    honest. Results are read per scenario, never from the suite's exit code.
 *
 * The suite's client cannot send an Authorization header; a loopback proxy that adds the agent's key
 * (and changes nothing else) stands in for the agent's credential.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startConformanceGateway } from './conformance/gateway-under-test.js';
import {
  conformanceAvailable,
  formatRun,
  judge,
  loadExpectedFailures,
  runConformanceSuite,
} from './conformance/suite.js';
import { startConformanceUpstreamHttp } from './conformance/upstream-http.js';

// A missing suite or Node 22 is a broken install, not a reason to skip: fail loudly.
describe('MCP conformance', () => {
  it('the suite and Node 22 are installed', () => {
    assert.ok(
      conformanceAvailable(),
      'expected node_modules/.bin/node (Node 22) and @modelcontextprotocol/conformance',
    );
  });

  it('the upstream fixture passes every scenario when served directly', { timeout: 180_000 }, async () => {
    const upstream = await startConformanceUpstreamHttp();
    try {
      // The fixture is a 2025-era server: it is proved at 2025-11-25 (the gateway serves it to 2026-07-28 agents).
      const run = await runConformanceSuite({ url: upstream.url, specVersion: '2025-11-25' });
      assert.ok(run.scenarios.length > 0, `the suite reported no scenarios:\n${run.output}`);
      const failed = run.scenarios.filter((s) => !s.passed);
      assert.deepEqual(
        failed.map((s) => s.scenario),
        [],
        formatRun(run),
      );
    } finally {
      await upstream.close();
    }
  });

  for (const revision of [
    { specVersion: '2025-11-25', list: 'server', suite: 'active', upstream: 'legacy' },
    { specVersion: '2026-07-28', list: 'server-2026-07-28', suite: 'all', upstream: 'modern' },
  ] as const) {
    it(
      `the gateway passes every ${revision.specVersion} scenario except the listed expected failures`,
      { timeout: 420_000 },
      async () => {
        const expected = await loadExpectedFailures(undefined, revision.list);
        const gateway = await startConformanceGateway(revision.upstream);
        try {
          const run = await runConformanceSuite({
            url: gateway.url,
            specVersion: revision.specVersion,
            suite: revision.suite,
            timeoutMs: 400_000,
          });
          const verdict = judge(run, expected);
          const report = `${formatRun(run, verdict, expected)}\n--- gateway stderr (tail) ---\n${gateway.gateway.stderr().slice(-4000)}`;
          // The per-revision pass count, for the record.
          console.log(
            `conformance ${revision.specVersion}: ${verdict.passed.length}/${run.scenarios.length} scenarios passed`,
          );
          assert.ok(run.scenarios.length > 0, `the suite reported no scenarios:\n${run.output}`);
          assert.deepEqual(verdict.unexpectedFailures, [], report);
          assert.deepEqual(verdict.unexpectedPasses, [], report);
          assert.deepEqual(verdict.notRun, [], report);
        } finally {
          await gateway.close();
        }
      },
    );
  }
});

describe('conformance verdicts', () => {
  const run = (results: Record<string, boolean>) => ({
    url: 'http://127.0.0.1:1/mcp',
    output: '',
    exitCode: 0,
    scenarios: Object.entries(results).map(([scenario, passed]) => ({ scenario, passed, checks: [], problems: [] })),
  });
  const expected = { server: [{ scenario: 'b', reason: 'cannot pass through a gateway' }] };

  it('accepts passes and listed failures', () => {
    const verdict = judge(run({ a: true, b: false }), expected);
    assert.equal(verdict.ok, true);
    assert.deepEqual(verdict.expectedFailures, ['b']);
  });

  it('rejects an unlisted failure', () => {
    const verdict = judge(run({ a: false, b: false }), expected);
    assert.equal(verdict.ok, false);
    assert.deepEqual(verdict.unexpectedFailures, ['a']);
  });

  it('rejects a listed scenario that passes', () => {
    const verdict = judge(run({ a: true, b: true }), expected);
    assert.equal(verdict.ok, false);
    assert.deepEqual(verdict.unexpectedPasses, ['b']);
  });

  it('rejects an empty run', () => {
    assert.equal(judge(run({}), { server: [] }).ok, false);
  });
});
