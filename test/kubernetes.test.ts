/**
 * The Kubernetes manifests (deploy/kubernetes): rendered with `kubectl kustomize` (no cluster needed) and
 * every object validated against the Kubernetes API schemas of the `kubernetes-models` packages. Then the
 * properties a production gateway needs: two replicas with readiness and liveness probes the gateway answers,
 * a non-root read-only security context, config and policy from the ConfigMap (valid for the gateway's own
 * schema, policy tests passing), secrets only from the Secret (one shared signing key), Redis as an external
 * URL, each replica's audit on its own volume, a grace period longer than the drain, a disruption budget, and
 * network policies that admit backends' traffic only from the gateway.
 *
 * kubectl is part of the machine image; under CI=true the test requires it and fails saying so.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { get as httpGet } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { loadConfigFile, type GatewayConfig } from '../gateway/config/index.js';
import { baselineRules } from '../gateway/services/policy/index.js';
import { compilePolicy, parsePolicyYaml, runPolicyTests } from '../policies/index.js';
import { silentLogger } from '../gateway/kernel/log.js';
import { startGateway, type RunningGateway } from '../gateway/main.js';
import { REPO_ROOT } from './fixtures/gateway-process.js';
import { deleteKeys, freshPrefix, REDIS_URL } from './helpers/redis.js';

const KUSTOMIZATION = path.join(REPO_ROOT, 'deploy', 'kubernetes');
const KUBECTL = process.env['KUBECTL'] ?? 'kubectl';
const SECRET_NAME = 'portcullis-secrets';
const GATEWAY_LABELS = { 'app.kubernetes.io/name': 'portcullis' };

/** Each kind the kustomization renders, with the model that validates it against the API schema. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/StatefulSet': StatefulSet,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
};

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

function kubectlAvailable(): boolean {
  const probe = spawnSync(KUBECTL, ['version', '--client'], { encoding: 'utf8', timeout: 30_000 });
  return probe.error === undefined && probe.status === 0;
}

function render(dir: string): Manifest[] {
  const result = spawnSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, `kubectl kustomize ${dir} failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout).map((doc) => doc.toJS() as Manifest);
}

function validateManifest(manifest: Manifest): void {
  const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  assert.ok(Model !== undefined, `no schema model for ${manifest.apiVersion} ${manifest.kind}`);
  new Model(manifest as never).validate();
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/** GET with an explicit Host header (what a kubelet probe sends), answering the status code. */
function statusWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

const hasKubectl = kubectlAvailable();
const requireKubectl = process.env['CI'] === 'true';

describe(
  'Kubernetes manifests',
  { skip: hasKubectl || requireKubectl ? false : `${KUBECTL} is not on PATH: manifests not rendered` },
  () => {
    let manifests: Manifest[] = [];
    let statefulSet: Manifest & {
      spec: {
        replicas: number;
        template: { metadata: { labels: Record<string, string> }; spec: IPodSpec };
        volumeClaimTemplates: { metadata: { name: string } }[];
      };
    };
    let pod: IPodSpec;
    let container: IContainer;
    let config: GatewayConfig;
    let configDir: string;

    before(async () => {
      assert.ok(
        hasKubectl,
        `CI=true: kubectl must be on PATH (it is part of the machine image; set KUBECTL to its path) to render deploy/kubernetes`,
      );
      manifests = render(KUSTOMIZATION);
      statefulSet = manifests.find((m) => m.kind === 'StatefulSet') as typeof statefulSet;
      assert.ok(statefulSet !== undefined, 'the kustomization renders a StatefulSet');
      pod = statefulSet.spec.template.spec;
      container = pod.containers.find((c) => c.name === 'portcullis')!;
      assert.ok(container !== undefined, 'the gateway container');

      // The gateway config and policy exactly as the ConfigMap carries them, checked by the gateway's loader.
      const configMap = manifests.find((m) => m.kind === 'ConfigMap') as Manifest & { data: Record<string, string> };
      configDir = await mkdtemp(path.join(tmpdir(), 'portcullis-k8s-'));
      for (const [file, text] of Object.entries(configMap.data)) await writeFile(path.join(configDir, file), text);
      config = (await loadConfigFile(path.join(configDir, 'portcullis.yaml'))).config;
    });

    after(async () => {
      if (configDir !== undefined) await rm(configDir, { recursive: true, force: true });
    });

    it('renders with kubectl kustomize, and every object is valid for the Kubernetes API schemas', () => {
      assert.deepEqual(manifests.map((m) => m.kind).sort(), [
        'ConfigMap',
        'Namespace',
        'NetworkPolicy',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Service',
        'Service',
        'ServiceAccount',
        'StatefulSet',
      ]);
      for (const manifest of manifests) {
        assert.doesNotThrow(() => validateManifest(manifest), `${manifest.kind} ${manifest.metadata.name}`);
      }
      assert.equal(
        manifests.some((m) => m.kind === 'Secret'),
        false,
        'no Secret (and no secret value) is part of the kustomization',
      );
    });

    it('the schema validation refuses a malformed object', () => {
      const broken = structuredClone(statefulSet) as unknown as { spec: Record<string, unknown> } & Manifest;
      broken.spec['replicas'] = 'two';
      assert.throws(() => validateManifest(broken), /replicas must be integer/);
    });

    it('runs two replicas with readiness and liveness probes the gateway answers', () => {
      assert.equal(statefulSet.spec.replicas, 2);
      const readiness = container.readinessProbe?.httpGet;
      assert.equal(readiness?.path, '/readyz');
      assert.equal(container.startupProbe?.httpGet?.path, '/readyz');
      assert.equal(readiness?.port, 'http');
      const host = readiness?.httpHeaders?.find((h) => h.name.toLowerCase() === 'host')?.value;
      assert.ok(host !== undefined && config.http.allowedHosts.includes(host), `probe Host ${host} is allowed`);
      assert.equal(container.livenessProbe?.httpGet?.path, '/livez', 'liveness depends on nothing but the process');
      assert.deepEqual(
        container.ports?.map((p) => [p.name, p.containerPort]),
        [['http', config.listen.port]],
      );
    });

    it('runs as non-root on a read-only root filesystem without privileges', () => {
      assert.equal(pod.securityContext?.runAsNonRoot, true);
      assert.ok((pod.securityContext?.runAsUser ?? 0) > 0, 'a non-zero uid');
      assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
      assert.equal(pod.automountServiceAccountToken, false);
      const security = container.securityContext;
      assert.equal(security?.readOnlyRootFilesystem, true);
      assert.equal(security?.allowPrivilegeEscalation, false);
      assert.deepEqual(security?.capabilities?.drop, ['ALL']);
      assert.ok(container.resources?.limits?.['memory'] && container.resources.limits['cpu'], 'resource limits');
    });

    it('takes config and policy from the ConfigMap; the policy tests pass', async () => {
      const configVolume = pod.volumes?.find((v) => v.configMap !== undefined);
      const configMap = manifests.find((m) => m.kind === 'ConfigMap')!;
      assert.equal(configVolume?.configMap?.name, configMap.metadata.name, 'the hashed ConfigMap name is mounted');
      const mount = container.volumeMounts?.find((m) => m.name === configVolume?.name);
      assert.deepEqual(container.args, ['start', '--config', `${mount?.mountPath}/portcullis.yaml`]);

      assert.equal((configMap as Manifest & { immutable?: boolean }).immutable, true, 'changes roll out as new pods');
      assert.equal(config.policy.watch, false, 'an immutable ConfigMap is never reloaded in place');
      assert.equal(config.policy.files.length, 1);
      const policyFile = config.policy.files[0]!;
      const parsed = parsePolicyYaml(await readFile(policyFile, 'utf8'), policyFile);
      const engine = compilePolicy([parsed], { extraRules: baselineRules(config) });
      const report = runPolicyTests(engine, parsed.document.tests ?? []);
      assert.ok(report.passed >= 3, `policy tests ran (${report.passed} passed)`);
      assert.equal(report.failed, 0, JSON.stringify(report.results.filter((r) => !r.passed)));
    });

    it('reads every secret from the Secret; both replicas share one signing key and one state-sealing key; Redis is an external URL', () => {
      const secretVolume = pod.volumes?.find((v) => v.secret !== undefined);
      assert.equal(secretVolume?.secret?.secretName, SECRET_NAME);
      const secretMount = container.volumeMounts?.find((m) => m.name === secretVolume?.name)?.mountPath;
      assert.ok(
        secretMount !== undefined && container.volumeMounts?.find((m) => m.name === secretVolume?.name)?.readOnly,
      );
      const refs = [
        config.credentials.signingKey,
        config.credentials.stateSealingKey,
        config.stores.kind === 'redis' ? config.stores.password : undefined,
        ...config.operators.flatMap((o) => o.tokens.map((t) => ('secret' in t ? t.secret : undefined))),
        ...config.agents.flatMap((a) => a.apiKeys.map((k) => ('secret' in k ? k.secret : undefined))),
      ];
      for (const ref of refs) {
        assert.ok(ref?.startsWith(`file:${secretMount}/`), `${ref} is a file from the mounted Secret`);
      }
      assert.ok(config.credentials.signingKey !== undefined, 'a configured signing key, not a per-pod dev key');
      assert.ok(config.credentials.stateSealingKey !== undefined, 'a configured state-sealing key, not a per-pod one');
      assert.deepEqual(
        container.env?.map((e) => e.name),
        ['PORTCULLIS_LOG_LEVEL'],
        'no secret in the environment',
      );

      assert.equal(config.stores.kind, 'redis');
      const url = new URL(config.stores.kind === 'redis' ? config.stores.url : '');
      assert.ok(!['localhost', '127.0.0.1', '::1'].includes(url.hostname), 'Redis is outside the pod');
      assert.equal(
        manifests.some((m) => JSON.stringify(m).includes('image":"redis')),
        false,
        'Redis is not deployed here',
      );
    });

    it("writes each replica's audit log to its own persistent volume", () => {
      const claim = statefulSet.spec.volumeClaimTemplates.map((t) => t.metadata.name);
      const auditDir = path.posix.dirname(config.audit.file ?? '');
      const mount = container.volumeMounts?.find((m) => m.mountPath === auditDir);
      assert.ok(mount !== undefined, `the audit directory ${auditDir} is a mount`);
      assert.ok(claim.includes(mount.name), 'it comes from a volumeClaimTemplate (one claim per replica)');
    });

    it("gives terminating pods longer than the stop: the preStop pause plus the gateway's drain", () => {
      const pause = Number(container.lifecycle?.preStop?.exec?.command?.at(-1));
      assert.ok(Number.isInteger(pause) && pause > 0, 'a preStop pause');
      // The drain lets calls finish for drainSeconds, then gives cancelled calls 5 s to be answered.
      const drainSeconds = config.shutdown.drainSeconds + 5;
      assert.ok(
        (pod.terminationGracePeriodSeconds ?? 30) > pause + drainSeconds,
        `grace ${pod.terminationGracePeriodSeconds} s > stop ${pause + drainSeconds} s`,
      );
    });

    it('keeps a replica through voluntary disruptions and routes the Service to the gateway pods', () => {
      const budget = manifests.find((m) => m.kind === 'PodDisruptionBudget') as Manifest & {
        spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
      };
      assert.ok(budget.spec.minAvailable >= 1 && budget.spec.minAvailable < statefulSet.spec.replicas);
      assert.ok(matches(budget.spec.selector.matchLabels, statefulSet.spec.template.metadata.labels));
      const services = manifests.filter((m) => m.kind === 'Service') as (Manifest & {
        spec: { selector: Record<string, string>; ports: { targetPort: string }[] };
      })[];
      for (const service of services) {
        assert.ok(matches(service.spec.selector, statefulSet.spec.template.metadata.labels), service.metadata.name);
        assert.ok(service.spec.ports.every((p) => p.targetPort === 'http'));
      }
    });

    it('admits traffic to backends only from the gateway pods', () => {
      const policies = manifests.filter((m) => m.kind === 'NetworkPolicy') as (Manifest & {
        spec: {
          podSelector: { matchLabels?: Record<string, string> };
          policyTypes: string[];
          ingress: { from?: Record<string, unknown>[] }[];
        };
      })[];
      const backends = policies.find((p) => p.spec.podSelector.matchLabels?.['portcullis.dev/backend'] === 'true');
      assert.ok(backends !== undefined, 'a policy selects the backends');
      assert.ok(!matches(backends.spec.podSelector.matchLabels, GATEWAY_LABELS), 'it does not select the gateway');
      assert.deepEqual(backends.spec.policyTypes, ['Ingress']);
      assert.ok(backends.spec.ingress.length > 0);
      for (const rule of backends.spec.ingress) {
        assert.ok(rule.from !== undefined && rule.from.length > 0, 'every ingress rule names its sources');
        for (const peer of rule.from) {
          assert.deepEqual(Object.keys(peer), ['podSelector'], 'sources are pods in this namespace, no ipBlock');
          const selector = (peer['podSelector'] as { matchLabels: Record<string, string> }).matchLabels;
          assert.ok(matches(selector, statefulSet.spec.template.metadata.labels), 'the source is the gateway');
        }
      }
    });
  },
);

/**
 * The rendered ConfigMap's gateway configuration, run as the two replicas would run it: the Secret's files
 * (generated here) in place of /var/run/secrets/portcullis, the test Redis in place of the external URL (it
 * has no password, so the reference to one is dropped), loopback and port 0 in place of the pod's address,
 * and one audit directory per replica. A task opened on one replica is honoured by the other: they share the
 * signing key and the Redis state.
 */
describe(
  'Kubernetes config: two replicas',
  { skip: hasKubectl || requireKubectl ? false : `${KUBECTL} is not on PATH: manifests not rendered` },
  () => {
    const replicas: RunningGateway[] = [];
    const clients: Client[] = [];
    let dir: string;
    let prefix: string;
    let agentKey: string;

    before(async () => {
      assert.ok(hasKubectl, 'CI=true: kubectl must be on PATH to render deploy/kubernetes');
      const configMap = render(KUSTOMIZATION).find((m) => m.kind === 'ConfigMap') as Manifest & {
        data: Record<string, string>;
      };
      dir = await mkdtemp(path.join(tmpdir(), 'portcullis-k8s-replicas-'));
      const secrets = path.join(dir, 'secrets');
      await mkdir(secrets, { mode: 0o700 });
      agentKey = `pc_${randomBytes(24).toString('hex')}`;
      await writeFile(path.join(secrets, 'agent-api-key'), agentKey);
      await writeFile(path.join(secrets, 'operator-token'), randomBytes(24).toString('hex'));
      await writeFile(path.join(secrets, 'metrics-token'), randomBytes(24).toString('hex'));
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      await writeFile(path.join(secrets, 'signing-key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
      await writeFile(path.join(secrets, 'state-sealing-key'), randomBytes(48).toString('base64'));
      prefix = freshPrefix();

      for (const name of ['portcullis-0', 'portcullis-1']) {
        const replicaDir = path.join(dir, name);
        await mkdir(replicaDir);
        const text = configMap.data['portcullis.yaml']!.replaceAll('/var/run/secrets/portcullis/', `${secrets}/`);
        const config = parse(text) as Record<string, Record<string, unknown>>;
        config['listen'] = { host: '127.0.0.1', port: 0 };
        assert.equal(config['stores']!['kind'], 'redis');
        config['stores'] = { kind: 'redis', url: REDIS_URL, prefix };
        assert.equal(config['audit']!['file'], '/var/lib/portcullis/audit.jsonl');
        config['audit']!['file'] = path.join(replicaDir, 'audit.jsonl');
        await writeFile(path.join(replicaDir, 'policy.yaml'), configMap.data['policy.yaml']!);
        const file = path.join(replicaDir, 'portcullis.yaml');
        await writeFile(file, stringify(config));
        replicas.push(await startGateway({ loaded: await loadConfigFile(file), env: {}, logger: silentLogger() }));
      }
    });

    after(async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await Promise.all(replicas.map((r) => r.close()));
      if (prefix !== undefined) await deleteKeys(prefix);
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    it('both replicas are ready for the probe as the kubelet sends it', async () => {
      for (const replica of replicas) {
        for (const probe of ['/readyz', '/livez', '/healthz'])
          assert.equal(await statusWithHost(`${replica.baseUrl}${probe}`, 'localhost'), 200, probe);
      }
    });

    it('a task opened on one replica is honoured by the other', async () => {
      const opened = await fetch(`${replicas[0]!.baseUrl}/v1/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${agentKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ intent: 'read a ticket' }),
      });
      assert.equal(opened.status, 201, await opened.clone().text());
      const { token } = (await opened.json()) as { token: string };
      const client = new Client({ name: 'agent', version: '1.0.0' });
      clients.push(client);
      await client.connect(
        new StreamableHTTPClientTransport(new URL(replicas[1]!.mcpUrl), {
          requestInit: { headers: { Authorization: `Bearer ${token}` } },
        }),
      );
      const tools = (await client.listTools()).tools.map((t) => t.name).sort();
      assert.ok(tools.includes('helpdesk_get_ticket'), tools.join(', '));
      const keys = await Promise.all(
        replicas.map(async (r) => (await (await fetch(`${r.baseUrl}/.well-known/jwks.json`)).json()) as unknown),
      );
      assert.deepEqual(keys[0], keys[1], 'both replicas publish the same keys');
    });

    it('each replica writes its own audit log', async () => {
      await Promise.all(replicas.map((r) => r.audit.flush()));
      const opened = await readFile(path.join(dir, 'portcullis-0', 'audit.jsonl'), 'utf8');
      assert.match(opened, /"event":"task\.open/);
      const other = path.join(dir, 'portcullis-1', 'audit.jsonl');
      const text = await readFile(other, 'utf8').catch(() => '');
      assert.doesNotMatch(text, /"event":"task\.open/, 'the task was opened on replica 0 only');
    });
  },
);
