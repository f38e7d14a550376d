/**
 * The Docker deployment as a template: `compose.yaml` is checked through the model `docker-compose config`
 * prints (run only when docker-compose is on PATH; no engine is needed), and through the file as written
 * otherwise, for what a segmented deployment needs: a container on the agents' network reaches the gateway
 * and nothing behind it (backends on an internal network that only the gateway joins, Redis likewise, no
 * backend publishing a port, no host networking); secrets are compose secrets, never environment variables;
 * Redis requires the password from its secret file; every service has resource limits; the gateway's health
 * check uses its health endpoint. The gateway config it mounts passes the gateway's strict schema and points
 * at the compose services and secrets; the Dockerfile keeps to its contract (Node 24 LTS slim base, compiled
 * dist/, production dependencies, non-root, health check).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import ipaddr from 'ipaddr.js';
import { loadConfigFile, resolveSecretRef } from '../gateway/config/index.js';
import { baselineRules } from '../gateway/services/policy/index.js';
import { compilePolicy, parsePolicyYaml, runPolicyTests } from '../policies/index.js';
import { REPO_ROOT } from './fixtures/gateway-process.js';
import { normalizeCompose, reachableFrom, type ComposeModel } from './helpers/compose-model.js';

const COMPOSE_FILE = path.join(REPO_ROOT, 'compose.yaml');
const GATEWAY_CONFIG = path.join(REPO_ROOT, 'examples', 'compose', 'portcullis.yaml');
const POLICY_FILE = path.join(REPO_ROOT, 'examples', 'compose', 'policy.yaml');

const GATEWAY = 'portcullis';
const BACKENDS = ['helpdesk-api', 'kb'];
const AGENTS_NETWORK = 'agents';
/** Secret name -> the gateway config's reference to it. */
const GATEWAY_SECRETS = {
  operator_token: 'file:/run/secrets/operator_token',
  agent_api_key: 'file:/run/secrets/agent_api_key',
  redis_password: 'file:/run/secrets/redis_password',
  metrics_token: 'file:/run/secrets/metrics_token',
};

function composeAvailable(): boolean {
  const probe = spawnSync('docker-compose', ['version'], { encoding: 'utf8', timeout: 30_000 });
  return probe.error === undefined && probe.status === 0;
}

function composeConfig(file = COMPOSE_FILE): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('docker-compose', ['-f', file, 'config'], {
    cwd: path.dirname(file),
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const hasCompose = composeAvailable();
/** Under CI the resolved model is required: CI installs docker-compose (.ci/run). */
const requireCompose = process.env['CI'] === 'true';

let modelOnce: Promise<{ model: ComposeModel; source: string }> | undefined;

/** The model docker-compose resolves when it is installed, else the file as written (same checks). */
function loadModel(): Promise<{ model: ComposeModel; source: string }> {
  modelOnce ??= readModel();
  return modelOnce;
}

async function readModel(): Promise<{ model: ComposeModel; source: string }> {
  if (hasCompose) {
    const result = composeConfig();
    assert.equal(result.status, 0, result.stderr);
    return { model: normalizeCompose(parse(result.stdout)), source: 'docker-compose config' };
  }
  return { model: normalizeCompose(parse(await readFile(COMPOSE_FILE, 'utf8'))), source: 'compose.yaml' };
}

describe('docker-compose deployment', () => {
  it(
    'validates with docker-compose config and has the expected services',
    { skip: hasCompose || requireCompose ? false : 'docker-compose is not on PATH: the resolved model is not checked' },
    () => {
      assert.ok(hasCompose, 'CI=true: docker-compose must be on PATH to check the resolved compose model');
      const result = composeConfig();
      assert.equal(result.status, 0, result.stderr);
      const model = normalizeCompose(parse(result.stdout));
      assert.deepEqual(Object.keys(model.services).sort(), [
        'grafana',
        'helpdesk-api',
        'jaeger',
        'kb',
        'portcullis',
        'prometheus',
        'redis',
      ]);
      assert.ok(model.services[GATEWAY]!.build, 'the gateway is built from the Dockerfile');
      assert.match(model.services['jaeger']!.image ?? '', /^jaegertracing\/all-in-one:/);
      assert.match(model.services['redis']!.image ?? '', /^redis:/);
    },
  );

  it("a container on the agents' network reaches the gateway and nothing behind it", async () => {
    const { model, source } = await loadModel();
    const reachable = reachableFrom(model, AGENTS_NETWORK);
    assert.ok(reachable.has(GATEWAY), `${source}: the gateway is reachable from the agents' network`);
    for (const name of [...BACKENDS, 'redis'])
      assert.equal(reachable.has(name), false, `${source}: ${name} is reachable from the agents' network`);

    // Backends and Redis: only on internal networks, which only they and the gateway join.
    for (const name of [...BACKENDS, 'redis']) {
      const service = model.services[name]!;
      assert.deepEqual(service.publishedPorts, [], `${name} publishes no port`);
      assert.ok(service.networks.length > 0, `${name} is on a network`);
      for (const network of service.networks) {
        assert.equal(model.networks[network]?.internal, true, `${name}'s network ${network} is internal`);
        const members = Object.entries(model.services)
          .filter(([, s]) => s.networks.includes(network))
          .map(([n]) => n);
        const allowed = name === 'redis' ? ['redis', GATEWAY] : [...BACKENDS, GATEWAY];
        assert.deepEqual(
          members.filter((m) => !allowed.includes(m)),
          [],
          `only the gateway joins ${name}'s network ${network}`,
        );
      }
    }
    for (const [name, service] of Object.entries(model.services)) {
      assert.equal(service.networkMode, undefined, `${name} sets no network_mode (host networking or sharing)`);
    }
    // The gateway publishes only its own port, on loopback; Jaeger its UI and OTLP port, on loopback.
    assert.deepEqual(model.services[GATEWAY]!.publishedPorts, ['127.0.0.1:8787:8787']);
    assert.deepEqual(model.services['jaeger']!.publishedPorts.sort(), ['127.0.0.1:16686:16686', '127.0.0.1:4318:4318']);
    for (const [name, service] of Object.entries(model.services))
      for (const port of service.publishedPorts)
        assert.match(port, /^127\.0\.0\.1:/, `${name} publishes on loopback only`);
  });

  it('the reachability check catches a flat network and a published backend port', () => {
    const flat = normalizeCompose({
      services: {
        portcullis: { networks: ['default'], ports: ['127.0.0.1:8787:8787'] },
        'helpdesk-api': { networks: ['default'] },
        redis: { networks: ['state'], ports: ['127.0.0.1:6379:6379'] },
      },
      networks: { default: {}, state: { internal: true } },
    });
    const reachable = reachableFrom(flat, 'default');
    assert.ok(reachable.has('helpdesk-api'), 'a backend on the same network is reachable');
    assert.ok(reachable.has('redis'), 'a service publishing a port on the host is reachable');
  });

  it('keeps secrets in compose secrets: Redis requires its password, the gateway reads every secret from a file', async () => {
    const { model, source } = await loadModel();
    const gateway = model.services[GATEWAY]!;
    assert.deepEqual(gateway.secrets.sort(), Object.keys(GATEWAY_SECRETS).sort(), `${source}: gateway secrets`);
    for (const name of Object.keys(GATEWAY_SECRETS)) {
      assert.ok(model.secrets[name]?.file, `${name} is a compose secret read from a file`);
    }
    for (const [name, service] of Object.entries(model.services)) {
      for (const [key, value] of Object.entries(service.environment)) {
        // `NAME__FILE` (Grafana's convention) names a secret file; anything else secret-like is refused.
        if (key.endsWith('__FILE')) assert.match(value, /^\/run\/secrets\//, `${name}: ${key} names a compose secret`);
        else assert.doesNotMatch(key, /TOKEN|PASSWORD|SECRET|KEY/i, `${name} passes no secret in its environment`);
      }
    }
    assert.deepEqual(model.services['grafana']!.secrets, ['grafana_admin_password']);
    const redis = model.services['redis']!;
    assert.deepEqual(redis.secrets, ['redis_password']);
    const command = redis.command.join(' ');
    assert.match(command, /requirepass/);
    assert.match(command, /\/run\/secrets\/redis_password/);
    assert.match(redis.healthcheck.join(' '), /REDISCLI_AUTH=.*\/run\/secrets\/redis_password/);

    const { config } = await loadConfigFile(GATEWAY_CONFIG);
    assert.deepEqual(
      config.operators.flatMap((o) => o.tokens),
      [{ secret: GATEWAY_SECRETS.operator_token }],
    );
    assert.deepEqual(
      config.agents.flatMap((a) => a.apiKeys),
      [{ secret: GATEWAY_SECRETS.agent_api_key }],
    );
    assert.equal(config.stores.kind, 'redis');
    assert.equal(config.stores.kind === 'redis' ? config.stores.password : undefined, GATEWAY_SECRETS.redis_password);
    assert.deepEqual(config.metrics.token, { secret: GATEWAY_SECRETS.metrics_token });
    assert.deepEqual(model.services['prometheus']!.secrets, ['metrics_token']);
  });

  it('keeps the secret files out of git and out of the image build context', async () => {
    const gitignore = await readFile(path.join(REPO_ROOT, '.gitignore'), 'utf8');
    const dockerignore = await readFile(path.join(REPO_ROOT, '.dockerignore'), 'utf8');
    const { model } = await loadModel();
    for (const [name, secret] of Object.entries(model.secrets)) {
      const relative = path.relative(REPO_ROOT, path.resolve(REPO_ROOT, secret.file ?? ''));
      assert.ok(relative.startsWith('deploy/compose/secrets/'), `${name} is in deploy/compose/secrets`);
    }
    assert.match(gitignore, /^deploy\/compose\/secrets\/$/m);
    assert.match(dockerignore, /^deploy$/m);
  });

  it('the gateway refuses a missing or empty secret file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-compose-'));
    try {
      await writeFile(path.join(dir, 'operator_token'), '');
      await assert.rejects(
        resolveSecretRef('file:operator_token', { env: {}, baseDir: dir }),
        /operator_token: file is empty/,
      );
      await assert.rejects(
        resolveSecretRef('file:agent_api_key', { env: {}, baseDir: dir }),
        /agent_api_key: cannot read file \(ENOENT\)/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('limits every service and checks health on the endpoints', async () => {
    const { model, source } = await loadModel();
    for (const [name, service] of Object.entries(model.services)) {
      assert.ok(service.limits.memory !== undefined, `${source}: ${name} has a memory limit`);
      assert.ok(service.limits.cpus !== undefined, `${source}: ${name} has a CPU limit`);
      assert.deepEqual(service.capDrop, ['ALL'], `${name} drops every capability`);
      assert.ok(service.securityOpt.includes('no-new-privileges:true'), `${name} sets no-new-privileges`);
    }
    for (const name of [GATEWAY, ...BACKENDS, 'redis']) {
      const service = model.services[name]!;
      assert.equal(service.readOnly, true, `${name} has a read-only root filesystem`);
      assert.ok((service.pidsLimit ?? 0) > 0, `${name} has a process-count limit`);
      assert.ok(service.healthcheck.length > 0, `${name} has a health check`);
    }
    const gateway = model.services[GATEWAY]!;
    assert.match(gateway.healthcheck.join(' '), /http:\/\/127\.0\.0\.1:8787\/readyz/);
    for (const dependency of [...BACKENDS, 'redis'])
      assert.equal(gateway.dependsOn[dependency], 'service_healthy', `the gateway waits for ${dependency}`);
  });

  it("mounts a gateway config that passes the gateway's schema and points at the compose services", async () => {
    const { model } = await loadModel();
    const { config } = await loadConfigFile(GATEWAY_CONFIG);
    assert.equal(config.listen.host, '0.0.0.0');
    assert.equal(config.listen.port, 8787);
    for (const host of ['localhost', '127.0.0.1', 'portcullis'])
      assert.ok(config.http.allowedHosts.includes(host), `allowedHosts has ${host}`);
    assert.equal(config.stores.kind === 'redis' ? config.stores.url : undefined, 'redis://redis:6379');
    assert.equal(config.telemetry.enabled, true);
    assert.equal(config.telemetry.otlpEndpoint, 'http://jaeger:4318');
    assert.equal(config.telemetry.jaegerUiUrl, 'http://localhost:16686');
    assert.ok(config.audit.file?.startsWith('/var/lib/portcullis/'), 'the audit log is on the data volume');

    const targets = config.connectors.map((c) =>
      c.kind === 'http' ? c.baseUrl : c.transport === 'http' ? c.url : 'stdio',
    );
    assert.deepEqual(targets.sort(), ['http://helpdesk-api:18081', 'http://kb:18082/mcp']);
    const backendSubnet = model.networks['backends']?.subnets[0];
    assert.ok(backendSubnet !== undefined, 'the backends network has a fixed subnet');
    const subnet = ipaddr.parseCIDR(backendSubnet);
    for (const connector of config.connectors) {
      assert.ok(
        (config.egress.connectors[connector.id]?.allowPrivate ?? []).some((cidr) => {
          if (!cidr.includes('/')) return false;
          const [range, bits] = ipaddr.parseCIDR(cidr);
          return range.kind() === 'ipv4' && bits <= subnet[1] && subnet[0].match(range, bits);
        }),
        `egress lets ${connector.id} reach the backends network, which is private address space`,
      );
    }
  });

  it('Prometheus scrapes the gateway and Grafana shows the committed dashboard', async () => {
    const { model } = await loadModel();
    const { config } = await loadConfigFile(GATEWAY_CONFIG);
    const shared = (a: string, b: string) =>
      model.services[a]!.networks.some((network) => model.services[b]!.networks.includes(network));
    assert.ok(shared('prometheus', GATEWAY), 'Prometheus shares a network with the gateway');
    assert.ok(shared('grafana', 'prometheus'), 'Grafana shares a network with Prometheus');

    const prometheus = parse(await readFile(path.join(REPO_ROOT, 'deploy', 'compose', 'prometheus.yml'), 'utf8')) as {
      scrape_configs: {
        metrics_path?: string;
        authorization?: { type?: string; credentials_file?: string };
        static_configs: { targets: string[] }[];
      }[];
    };
    const job = prometheus.scrape_configs[0]!;
    assert.equal(job.metrics_path ?? '/metrics', '/metrics');
    assert.deepEqual(
      job.authorization,
      { type: 'Bearer', credentials_file: '/run/secrets/metrics_token' },
      'the scrape presents metrics.token',
    );
    const [host, port] = job.static_configs[0]!.targets[0]!.split(':');
    assert.equal(host, GATEWAY);
    assert.equal(Number(port), config.listen.port);
    assert.ok(config.http.allowedHosts.includes(host!), 'the scrape Host header is accepted');

    const datasources = parse(
      await readFile(path.join(REPO_ROOT, 'deploy', 'compose', 'grafana', 'datasources', 'prometheus.yaml'), 'utf8'),
    ) as { datasources: { type: string; url: string }[] };
    assert.deepEqual(
      datasources.datasources.map((d) => [d.type, d.url]),
      [['prometheus', 'http://prometheus:9090']],
    );
    const raw = parse(await readFile(COMPOSE_FILE, 'utf8')) as {
      services: Record<string, { volumes?: string[] }>;
    };
    const mounts = raw.services['grafana']!.volumes ?? [];
    assert.ok(
      mounts.some((m) => m.startsWith('./deploy/grafana/portcullis-dashboard.json:')),
      'the committed dashboard is mounted',
    );
    const dashboard = JSON.parse(
      await readFile(path.join(REPO_ROOT, 'deploy', 'grafana', 'portcullis-dashboard.json'), 'utf8'),
    ) as { templating: { list: { name: string; query?: unknown }[] } };
    const jaegerUi = dashboard.templating.list.find((v) => v.name === 'jaeger')?.query;
    assert.equal(jaegerUi, config.telemetry.jaegerUiUrl, "the dashboard's Jaeger link is the published UI");
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
    assert.match(
      final,
      /^ENTRYPOINT \["node", "--max-semi-space-size=16", "--heap-growing-percent=100", "bin\/portcullis\.js"\]$/m,
    );
    assert.match(final, /^USER node$/m);
    assert.match(final, /^HEALTHCHECK /m);
    assert.match(final, /readyz/);
    const lock = JSON.parse(await readFile(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    assert.equal(lock.packages['node_modules/tsx']?.dev, true, 'tsx is a development dependency only');
  });
});
