/**
 * Start a real in-process gateway from a YAML config written to a temp folder, and connect real MCP
 * clients to it. Everything listens on 127.0.0.1 port 0.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { stringify } from 'yaml';
import { digestApiKey, generateApiKey } from '../../gateway/services/auth/api-key-authenticator.js';
import { parseConfigText } from '../../gateway/config/load.js';
import { silentLogger } from '../../gateway/kernel/log.js';
import { startGateway, type RunningGateway } from '../../gateway/main.js';
import { startUpstreamHttp, type UpstreamHttp } from '../fixtures/mcp-upstream-http.js';

export interface TestAgent {
  id: string;
  key: string;
}

export interface TestGateway {
  gateway: RunningGateway;
  dir: string;
  auditFile: string;
  agents: Record<string, TestAgent>;
  connect(agentOrKey: string, options?: { capabilities?: Record<string, unknown> }): Promise<Client>;
  close(): Promise<void>;
}

export interface AgentSpec {
  id: string;
  tools?: string[];
  resources?: string[];
  prompts?: string[];
  roles?: string[];
  tenant?: string;
  owners?: string[];
}

/**
 * `config` is the gateway configuration without `listen`, `agents` and `audit`, which are filled in:
 * each agent spec gets a fresh random key.
 */
export async function startTestGateway(
  config: Record<string, unknown>,
  agents: AgentSpec[],
  env: Record<string, string> = {},
): Promise<TestGateway> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-test-'));
  const auditFile = path.join(dir, 'audit.jsonl');
  const testAgents: Record<string, TestAgent> = {};
  const agentConfigs = agents.map((spec) => {
    const key = generateApiKey();
    testAgents[spec.id] = { id: spec.id, key };
    return {
      id: spec.id,
      roles: spec.roles ?? [],
      ...(spec.tenant ? { tenant: spec.tenant } : {}),
      apiKeys: [{ sha256: digestApiKey(key) }],
      tools: spec.tools ?? [],
      ...(spec.resources ? { resources: spec.resources } : {}),
      ...(spec.prompts ? { prompts: spec.prompts } : {}),
      ...(spec.owners ? { owners: spec.owners } : {}),
    };
  });
  const full = {
    listen: { host: '127.0.0.1', port: 0 },
    audit: { file: auditFile },
    policy: { watch: false },
    ...config,
    agents: agentConfigs,
  };
  const file = path.join(dir, 'portcullis.yaml');
  const text = stringify(full);
  await writeFile(file, text);
  const gateway = await startGateway({ loaded: parseConfigText(text, file), env, logger: silentLogger() });
  const clients: Client[] = [];
  return {
    gateway,
    dir,
    auditFile,
    agents: testAgents,
    async connect(agentOrKey, options = {}) {
      const key = testAgents[agentOrKey]?.key ?? agentOrKey;
      const client = new Client({ name: 'test-agent', version: '1.0.0' }, { capabilities: options.capabilities ?? {} });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(gateway.mcpUrl), {
          requestInit: { headers: { Authorization: `Bearer ${key}` } },
        }),
      );
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await gateway.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface GatewayOverHttpUpstream extends TestGateway {
  upstream: UpstreamHttp;
}

/**
 * The gateway in front of the fixture upstream over Streamable HTTP (test/fixtures/mcp-upstream-http.ts):
 * one connector, `remote`, allowed to reach it on loopback, and these agents. Closing closes both.
 */
export async function startGatewayOverHttpUpstream(agents: AgentSpec[]): Promise<GatewayOverHttpUpstream> {
  const upstream = await startUpstreamHttp();
  try {
    const gw = await startTestGateway(
      {
        connectors: [{ id: 'remote', kind: 'mcp', transport: 'http', url: upstream.url }],
        egress: { connectors: { remote: { allowPrivate: ['127.0.0.1/32'] } } },
      },
      agents,
    );
    return {
      ...gw,
      upstream,
      async close() {
        await gw.close();
        await upstream.close();
      },
    };
  } catch (error) {
    await upstream.close();
    throw error;
  }
}

export { readAudit } from './audit-files.js';

export { INITIALIZE, rawPost } from './raw-mcp.js';
