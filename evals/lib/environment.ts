/**
 * One eval environment: the fixture backends of a setup, and a real in-process gateway configured from it
 * (agents get fresh API keys, operators fresh tokens, policy documents are written to files). Scenarios of
 * the same profile share one environment; each step measures what the backends received during that step.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { digestApiKey, generateApiKey } from '../../gateway/services/auth/api-key-authenticator.js';
import { parseConfigText } from '../../gateway/config/load.js';
import { silentLogger } from '../../gateway/kernel/log.js';
import { startGateway, type RunningGateway } from '../../gateway/main.js';
import { backendVars, startBackends, type RunningBackend } from './backends.js';
import type { Setup } from './schema.js';
import { fill, type TemplateVars } from './template.js';

export interface EvalEnvironment {
  name: string;
  gateway: RunningGateway;
  backends: Map<string, RunningBackend>;
  /** Agent id -> API key. */
  agentKeys: Map<string, string>;
  /** Operator id -> bearer token. */
  operatorTokens: Map<string, string>;
  vars: TemplateVars;
  /** The gateway's own private signing JWKs (dev key set), for forging tokens the gateway would sign. */
  signingJwks(): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export async function startEnvironment(name: string, setup: Setup): Promise<EvalEnvironment> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-eval-'));
  const backends = await startBackends(setup.backends);
  let gateway: RunningGateway | undefined;
  try {
    const vars = backendVars(backends);
    const agentKeys = new Map<string, string>();
    const operatorTokens = new Map<string, string>();
    const agents = setup.agents.map((agent) => {
      const key = generateApiKey();
      agentKeys.set(agent.id, key);
      return {
        id: agent.id,
        roles: agent.roles,
        ...(agent.tenant !== undefined ? { tenant: agent.tenant } : {}),
        apiKeys: [{ sha256: digestApiKey(key) }],
        tools: agent.tools,
        owners: agent.owners,
      };
    });
    const operators = setup.operators.map((operator) => {
      const token = generateApiKey();
      operatorTokens.set(operator.id, token);
      return { id: operator.id, roles: operator.roles, tokens: [{ sha256: digestApiKey(token) }] };
    });
    const policyFiles: string[] = [];
    for (const [index, document] of setup.policies.entries()) {
      const file = path.join(dir, `policy-${index}.yaml`);
      await writeFile(file, stringify(fill(document, vars)));
      policyFiles.push(file);
    }
    const gatewayConfig = fill(setup.gateway, vars);
    const credentials = (gatewayConfig['credentials'] ?? {}) as Record<string, unknown>;
    const keyDir = path.join(dir, 'keys');
    const full = {
      ...gatewayConfig,
      listen: { host: '127.0.0.1', port: 0 },
      audit: { file: path.join(dir, 'audit.jsonl') },
      policy: { files: policyFiles, watch: false },
      credentials: { ...credentials, devKeyDir: keyDir },
      agents,
      operators,
    };
    const file = path.join(dir, 'portcullis.yaml');
    const text = stringify(full);
    await writeFile(file, text);
    gateway = await startGateway({ loaded: parseConfigText(text, file), env: {}, logger: silentLogger() });
    vars['gateway.url'] = gateway.baseUrl;
    // Padding for oversized-request scenarios (2 MiB, above the default 1 MiB request limit).
    vars['pad.2m'] = 'A'.repeat(2 * 1024 * 1024);
    const running = gateway;
    return {
      name,
      gateway: running,
      backends: new Map(backends.map((b) => [b.name, b])),
      agentKeys,
      operatorTokens,
      vars,
      async signingJwks() {
        const stored = JSON.parse(await readFile(path.join(keyDir, 'signing-keys.json'), 'utf8')) as {
          keys: { jwk: Record<string, unknown> }[];
        };
        return stored.keys.map((k) => k.jwk);
      },
      async close() {
        await running.close().catch(() => undefined);
        await Promise.all(backends.map((b) => b.close().catch(() => undefined)));
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await gateway?.close().catch(() => undefined);
    await Promise.all(backends.map((b) => b.close().catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
