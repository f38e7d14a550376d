/**
 * Run the MCP conformance suite's server scenarios by hand, with readable output.
 *
 *   node --import tsx scripts/conformance.ts                 the gateway fronting the fixture (default)
 *   node --import tsx scripts/conformance.ts --direct        the fixture alone, over Streamable HTTP
 *   node --import tsx scripts/conformance.ts --url URL       any server (no credential is added)
 *   ... --suite all                                          include the suite's pending scenarios
 *   ... --scenario tools-call-with-progress                  one scenario
 *   ... --spec-version 2026-07-28                            the 2026-07-28 scenarios (default 2025-11-25);
 *                                                            the gateway then fronts the 2026-07-28-era fixture
 *
 * Against the gateway the result is judged with test/conformance/expected-failures.yaml; exit code 0
 * when it holds, 1 when not, 2 on usage or start-up errors.
 */
import { parseArgs } from 'node:util';
import { startConformanceGateway } from '../test/conformance/gateway-under-test.js';
import {
  conformanceAvailable,
  formatRun,
  judge,
  loadExpectedFailures,
  runConformanceSuite,
  type ExpectedFailures,
  type RunSuiteOptions,
} from '../test/conformance/suite.js';
import { startConformanceUpstreamHttp } from '../test/conformance/upstream-http.js';

const USAGE =
  'usage: scripts/conformance.ts [--direct | --url URL] [--spec-version 2025-11-25|2026-07-28] [--suite active|all] [--scenario ID] [--verbose]';
const SPEC_VERSIONS = ['2025-11-25', '2026-07-28'] as const;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        direct: { type: 'boolean', default: false },
        url: { type: 'string' },
        suite: { type: 'string', default: 'active' },
        scenario: { type: 'string' },
        'spec-version': { type: 'string', default: '2025-11-25' },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.suite !== 'active' && values.suite !== 'all') {
    process.stderr.write(`--suite must be active or all\n${USAGE}\n`);
    return 2;
  }
  if (!conformanceAvailable()) {
    process.stderr.write(
      'missing node_modules/.bin/node (Node 22) or @modelcontextprotocol/conformance: run npm install\n',
    );
    return 2;
  }
  const specVersion = SPEC_VERSIONS.find((v) => v === values['spec-version']);
  if (specVersion === undefined) {
    process.stderr.write(`--spec-version must be one of ${SPEC_VERSIONS.join(', ')}\n${USAGE}\n`);
    return 2;
  }
  const modern = specVersion === '2026-07-28';
  const suite: 'active' | 'all' = values.suite;
  const selection: Pick<RunSuiteOptions, 'suite' | 'scenario' | 'specVersion'> = {
    specVersion,
    ...(values.scenario !== undefined ? { scenario: values.scenario } : { suite }),
  };

  if (values.direct && modern) {
    process.stderr.write('--direct serves the 2025-era fixture, which the 2026-07-28 scenarios do not cover\n');
    return 2;
  }
  if (values.url !== undefined || values.direct) {
    const upstream = values.url === undefined ? await startConformanceUpstreamHttp() : undefined;
    try {
      const run = await runConformanceSuite({ url: values.url ?? upstream!.url, ...selection });
      process.stdout.write(`${formatRun(run)}\n`);
      if (values.verbose || run.scenarios.length === 0) process.stdout.write(`\n--- suite output ---\n${run.output}\n`);
      return run.scenarios.length > 0 && run.scenarios.every((s) => s.passed) ? 0 : 1;
    } finally {
      await upstream?.close();
    }
  }

  const all = await loadExpectedFailures(undefined, modern ? 'server-2026-07-28' : 'server');
  const expected: ExpectedFailures =
    values.scenario === undefined ? all : { server: all.server.filter((e) => e.scenario === values.scenario) };
  process.stdout.write('Starting the gateway (portcullis start) in front of the conformance fixture...\n');
  const gateway = await startConformanceGateway(modern ? 'modern' : 'legacy');
  try {
    process.stdout.write(`Gateway at ${gateway.gateway.url}, suite pointed at the credential proxy ${gateway.url}\n\n`);
    const run = await runConformanceSuite({ url: gateway.url, ...selection });
    const verdict = judge(run, expected);
    process.stdout.write(`${formatRun(run, verdict, expected)}\n`);
    if (values.verbose || run.scenarios.length === 0) {
      process.stdout.write(
        `\n--- suite output ---\n${run.output}\n--- gateway stderr ---\n${gateway.gateway.stderr()}\n`,
      );
    }
    return verdict.ok ? 0 : 1;
  } finally {
    await gateway.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`conformance: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
