/**
 * The Docker deployment: `compose.yaml` is valid for `docker-compose config` (run only when docker-compose
 * is on PATH; no engine is needed) and names the gateway, Redis, Jaeger and the demo backends with the
 * expected ports; the gateway refuses to start without an operator token. The gateway config it mounts passes the
 * gateway's own strict config schema and points at the compose services. The Dockerfile keeps to its
 * contract (slim Node 24 LTS base, compiled dist/, production dependencies, non-root, health check).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import ipaddr from 'ipaddr.js';
import { loadConfigFile } from '../gateway/config/load.js';
import { resolveSecretRef } from '../gateway/config/secrets.js';
import { baselineRules } from '../gateway/pipeline/baseline-rules.js';
import { compilePolicy, parsePolicyYaml, runPolicyTests } from '../policies/index.js';
import { REPO_ROOT } from './fixtures/gateway-process.js';

const COMPOSE_FILE = path.join(REPO_ROOT, 'compose.yaml');
const GATEWAY_CONFIG = path.join(REPO_ROOT, 'examples', 'compose', 'portcullis.yaml');
const POLICY_FILE = path.join(REPO_ROOT, 'examples', 'compose', 'policy.yaml');

interface ComposeService {
  image?: string;
  build?: { context?: string } | string;
  ports?: (string | { published?: number | string; target?: number })[];
  environment?: Record<string, string | null>;
  volumes?: unknown[];
  networks?: Record<string, unknown>;
}
interface ComposeModel {
  services: Record<string, ComposeService>;
  networks?: Record<string, { ipam?: { config?: { subnet?: string }[] } }>;
}

function composeAvailable(): boolean {
  const probe = spawnSync('docker-compose', ['version'], { encoding: 'utf8', timeout: 30_000 });
  return probe.error === undefined && probe.status === 0;
}

function composeConfig(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('docker-compose', ['-f', COMPOSE_FILE, 'config'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `127.0.0.1:8787:8787/tcp` or the long form -> `published:target`. */
function portPairs(service: ComposeService): string[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'string') {
      const parts = port.replace(/\/tcp$/, '').split(':');
      return `${parts.at(-2)}:${parts.at(-1)}`;
    }
    return `${String(port.published)}:${String(port.target)}`;
  });
}

const hasCompose = composeAvailable();

describe('docker-compose deployment', () => {
  it(
    'validates with docker-compose config and has the expected services and ports',
    { skip: hasCompose ? false : 'docker-compose is not on PATH: compose validation skipped' },
    () => {
      const result = composeConfig({ PORTCULLIS_OPERATOR_TOKEN: 'test-only-operator-token' });
      assert.equal(result.status, 0, result.stderr);
      const model = parse(result.stdout) as ComposeModel;
      assert.deepEqual(Object.keys(model.services).sort(), ['helpdesk-api', 'jaeger', 'kb', 'portcullis', 'redis']);

      const gateway = model.services['portcullis']!;
      assert.ok(gateway.build !== undefined, 'the gateway is built from the Dockerfile');
      assert.deepEqual(portPairs(gateway), ['8787:8787']);
      assert.equal(gateway.environment?.['PORTCULLIS_OPERATOR_TOKEN'], 'test-only-operator-token');
      assert.ok(
        JSON.stringify(gateway.volumes).includes('/etc/portcullis/portcullis.yaml'),
        'the compose config is mounted',
      );

      const jaeger = model.services['jaeger']!;
      assert.match(jaeger.image ?? '', /^jaegertracing\/all-in-one:/);
      assert.equal(String(jaeger.environment?.['COLLECTOR_OTLP_ENABLED']), 'true');
      assert.deepEqual(portPairs(jaeger).sort(), ['16686:16686', '4318:4318']);

      assert.match(model.services['redis']!.image ?? '', /^redis:/);
      assert.equal(model.services['helpdesk-api']!.environment?.['PORT'], '18081');
      assert.equal(model.services['kb']!.environment?.['PORT'], '18082');

      const subnet = model.networks?.['portcullis']?.ipam?.config?.[0]?.subnet;
      assert.equal(subnet, '172.30.0.0/24');
      for (const [name, service] of Object.entries(model.services)) {
        assert.ok(
          service.networks !== undefined && 'portcullis' in service.networks,
          `${name} is on the portcullis network`,
        );
      }
    },
  );

  it(
    'passes the operator token through from the environment, and the gateway refuses an empty one',
    { skip: hasCompose ? false : 'docker-compose is not on PATH: compose validation skipped' },
    async () => {
      // Without the variable, compose still starts the backing services (`docker compose up redis jaeger`).
      const result = composeConfig({});
      assert.equal(result.status, 0, result.stderr);
      const model = parse(result.stdout) as ComposeModel;
      assert.equal(model.services['portcullis']!.environment?.['PORTCULLIS_OPERATOR_TOKEN'] ?? '', '');
      const { config } = await loadConfigFile(GATEWAY_CONFIG);
      assert.deepEqual(
        config.operators.flatMap((o) => o.tokens),
        [{ secret: 'env:PORTCULLIS_OPERATOR_TOKEN' }],
      );
      await assert.rejects(
        resolveSecretRef('env:PORTCULLIS_OPERATOR_TOKEN', {
          env: { PORTCULLIS_OPERATOR_TOKEN: '' },
          baseDir: REPO_ROOT,
        }),
        /PORTCULLIS_OPERATOR_TOKEN/,
      );
    },
  );

  it("mounts a gateway config that passes the gateway's schema and points at the compose services", async () => {
    const { config } = await loadConfigFile(GATEWAY_CONFIG);
    assert.equal(config.listen.host, '0.0.0.0');
    assert.equal(config.listen.port, 8787);
    for (const host of ['localhost', '127.0.0.1', 'portcullis'])
      assert.ok(config.http.allowedHosts.includes(host), `allowedHosts has ${host}`);
    assert.deepEqual(config.stores, { kind: 'redis', url: 'redis://redis:6379', prefix: 'portcullis:' });
    assert.equal(config.telemetry.enabled, true);
    assert.equal(config.telemetry.otlpEndpoint, 'http://jaeger:4318');
    assert.equal(config.telemetry.jaegerUiUrl, 'http://localhost:16686');
    assert.ok(config.audit.file?.startsWith('/var/lib/portcullis/'), 'the audit log is on the data volume');

    const targets = config.connectors.map((c) =>
      c.kind === 'http' ? c.baseUrl : c.transport === 'http' ? c.url : 'stdio',
    );
    assert.deepEqual(targets.sort(), ['http://helpdesk-api:18081', 'http://kb:18082/mcp']);
    const subnet = ipaddr.parseCIDR('172.30.0.0/24');
    assert.ok(
      config.egress.allowPrivate.some((cidr) => {
        const [range, bits] = ipaddr.parseCIDR(cidr);
        return range.kind() === 'ipv4' && bits <= subnet[1] && subnet[0].match(range, bits);
      }),
      'egress allows the compose network, which is private address space',
    );
    assert.ok(
      config.operators.every((o) => o.tokens.every((t) => 'secret' in t)),
      'operator tokens come from the environment',
    );
  });

  it('ships a policy whose own tests pass together with the rules the compose config implies', async () => {
    const { config } = await loadConfigFile(GATEWAY_CONFIG);
    assert.deepEqual(config.policy.files, [POLICY_FILE]);
    const parsed = parsePolicyYaml(await readFile(POLICY_FILE, 'utf8'), POLICY_FILE);
    const engine = compilePolicy([parsed], { extraRules: baselineRules(config) });
    const report = runPolicyTests(engine, parsed.document.tests ?? []);
    assert.ok(report.passed >= 6, `policy tests ran (${report.passed} passed)`);
    assert.equal(
      report.failed,
      0,
      JSON.stringify(
        report.results.filter((r) => !r.passed),
        null,
        2,
      ),
    );
  });

  it('builds a slim, non-root image that runs the compiled dist/ on production dependencies only', async () => {
    const dockerfile = await readFile(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const stages = dockerfile.split(/^FROM /m).slice(1);
    assert.ok(stages.length >= 2, 'multi-stage');
    for (const stage of stages) assert.match(stage, /^node:24\.\d+\.\d+-bookworm-slim\b/, 'exact Node 24 LTS tag');
    const [build, final] = [stages[0]!, stages.at(-1)!];
    assert.match(build, /^RUN node scripts\/build\.js$/m, 'the first stage compiles dist/');
    assert.match(final, /npm ci --omit=dev/);
    assert.match(final, /^COPY --from=build \/src\/dist \.\/dist$/m, 'the runtime gets only the compiled output');
    assert.doesNotMatch(final, /^COPY (?:gateway|connectors|policies|examples)\b/m, 'no TypeScript sources');
    assert.doesNotMatch(final, /tsx/, 'the runtime does not compile TypeScript');
    assert.match(final, /^ENTRYPOINT \["node", "bin\/portcullis\.js"\]$/m);
    assert.match(final, /^USER node$/m);
    assert.match(final, /^HEALTHCHECK /m);
    assert.match(final, /healthz/);
    const lock = JSON.parse(await readFile(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    assert.equal(lock.packages['node_modules/tsx']?.dev, true, 'tsx is a development dependency only');
  });
});
