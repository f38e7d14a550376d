/**
 * Secret-leak scan: one gateway run (child process, debug logging, telemetry on) with secrets in its
 * configuration (an agent key and an operator token as `env:` references, a static backend secret),
 * bearer tokens on the wire (right and wrong ones) and secret-looking tool arguments. Every exported span,
 * every byte the process wrote to stdout/stderr and every file of the audit log is captured; none may
 * contain any secret value, raw or encoded.
 *
 * Positive controls make the scan meaningful: the spans, log lines and audit records exist, and the
 * backend received the backend secret and the arguments (so the values were really in flight).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateApiKey } from '../gateway/services/auth/api-key-authenticator.js';
import { startHttpBackend } from './fixtures/http-backend.js';
import { startGatewayProcess, type GatewayProcess } from './fixtures/gateway-process.js';
import { startUpstreamHttp, type UpstreamHttp } from './fixtures/mcp-upstream-http.js';
import { startOtlpReceiver, type OtlpReceiver } from './fixtures/otlp-receiver.js';
import { writePolicy } from './helpers/policy.js';

type Backend = Awaited<ReturnType<typeof startHttpBackend>>;

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Every value that must never be written anywhere but where it belongs. */
const secrets = {
  agentKey: generateApiKey(),
  wrongAgentKey: generateApiKey(),
  operatorToken: generateApiKey(),
  wrongOperatorToken: generateApiKey(),
  backendSecret: `bk_live_${hex(20)}`,
  argPassword: `pw-${hex(12)}`,
  argApiKey: `sk_live_${hex(16)}`,
  argBearer: `tok_${hex(16)}`,
  argJwt: `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: 'victim', nonce: hex(8) })}.${hex(16)}`,
  logSecret: `ls_${hex(16)}`,
};

/** The raw value plus the encodings a careless log line or header would use. */
function forms(value: string): string[] {
  return [
    value,
    Buffer.from(value).toString('base64'),
    Buffer.from(value).toString('base64url'),
    encodeURIComponent(value),
  ];
}

const httpTools = [
  {
    name: 'update_profile',
    method: 'POST',
    path: '/echo',
    inputSchema: {
      type: 'object',
      properties: { password: { type: 'string' }, note: { type: 'string' }, session: { type: 'string' } },
      required: ['password'],
      additionalProperties: false,
    },
    body: { args: ['password', 'note', 'session'] },
  },
  {
    name: 'rotate_key',
    method: 'PUT',
    path: '/echo',
    inputSchema: {
      type: 'object',
      properties: { service: { type: 'string' }, api_key: { type: 'string' } },
      required: ['service', 'api_key'],
      additionalProperties: false,
    },
    body: { args: ['service', 'api_key'] },
  },
];

describe('no secret reaches a span, a log line or the audit log', () => {
  let receiver: OtlpReceiver;
  let backend: Backend;
  let upstream: UpstreamHttp;
  let gateway: GatewayProcess;
  let auditDir: string;
  const captured = { spans: '', logs: '', audit: '' };
  let spanCount = 0;
  let auditRecords: Record<string, unknown>[] = [];

  before(async () => {
    receiver = await startOtlpReceiver();
    backend = await startHttpBackend();
    upstream = await startUpstreamHttp();
    const policyFile = await writePolicy({
      version: 1,
      name: 'secrets-scan',
      rules: [{ id: 'key-rotation-needs-approval', effect: 'approve', tools: ['api_rotate_key'] }],
    });
    gateway = await startGatewayProcess({
      config: (dir) => {
        auditDir = path.join(dir, 'audit');
        return {
          listen: { host: '127.0.0.1', port: 0 },
          connectors: [
            { id: 'api', kind: 'http', baseUrl: backend.url, tools: httpTools },
            { id: 'up', kind: 'mcp', transport: 'http', url: upstream.url },
          ],
          backendCredentials: { api: { type: 'bearer', secret: 'env:PC_SCAN_BACKEND_SECRET' } },
          egress: { connectors: { api: { allowPrivate: ['127.0.0.0/8'] }, up: { allowPrivate: ['127.0.0.0/8'] } } },
          agents: [
            { id: 'scan-agent', roles: ['tester'], apiKeys: [{ secret: 'env:PC_SCAN_AGENT_KEY' }], tools: ['*'] },
          ],
          operators: [
            { id: 'alice', roles: ['approver', 'viewer'], tokens: [{ secret: 'env:PC_SCAN_OPERATOR_TOKEN' }] },
          ],
          approvals: { mode: 'wait', waitSeconds: 10 },
          policy: { files: [policyFile], watch: false },
          audit: { file: path.join(auditDir, 'audit.jsonl') },
          telemetry: { enabled: true, serviceName: 'portcullis-secrets-scan', otlpEndpoint: receiver.url },
        };
      },
      env: {
        PC_SCAN_AGENT_KEY: secrets.agentKey,
        PC_SCAN_OPERATOR_TOKEN: secrets.operatorToken,
        PC_SCAN_BACKEND_SECRET: secrets.backendSecret,
        PORTCULLIS_LOG_LEVEL: 'debug',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    });

    // Wrong credentials at both doors.
    const wrongAgent = await fetch(gateway.mcpUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${secrets.wrongAgentKey}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    });
    assert.equal(wrongAgent.status, 401);
    await wrongAgent.body?.cancel();
    const wrongOperator = await fetch(`${gateway.baseUrl}/v1/approvals`, {
      headers: { authorization: `Bearer ${secrets.wrongOperatorToken}` },
    });
    assert.equal(wrongOperator.status, 401);
    await wrongOperator.body?.cancel();

    const { client, transport } = await gateway.connect(secrets.agentKey);
    const profile = await client.callTool({
      name: 'api_update_profile',
      arguments: { password: secrets.argPassword, note: `Bearer ${secrets.argBearer}`, session: secrets.argJwt },
    });
    assert.notEqual(profile.isError, true, JSON.stringify(profile));
    const logged = await client.callTool({
      name: 'up_log',
      arguments: { message: `password=${secrets.logSecret}`, level: 'warning' },
    });
    assert.notEqual(logged.isError, true, JSON.stringify(logged));
    const echoed = await client.callTool({ name: 'up_echo', arguments: { text: `api_key=${secrets.argApiKey}` } });
    assert.notEqual(echoed.isError, true, JSON.stringify(echoed));

    // A call that needs approval: its arguments are shown to operators and audited with the request.
    const rotate = client.callTool(
      { name: 'api_rotate_key', arguments: { service: 'billing', api_key: secrets.argApiKey } },
      undefined,
      { timeout: 30_000 },
    );
    rotate.catch(() => undefined); // awaited below; a failed approval must not leave it unhandled
    await approveFirstPending(gateway.baseUrl, secrets.operatorToken);
    const rotated = await rotate;
    assert.notEqual(rotated.isError, true, JSON.stringify(rotated));

    await transport.terminateSession();
    await client.close();
    // SIGTERM flushes the batch span processor and the audit log.
    await gateway.stop();

    spanCount = receiver.spans().length;
    captured.spans = JSON.stringify(receiver.spans());
    captured.logs = gateway.stdout() + gateway.stderr();
    for (const file of await readdir(auditDir)) captured.audit += await readFile(path.join(auditDir, file), 'utf8');
    auditRecords = captured.audit
      .split('\n')
      .filter((line) => line.trim().startsWith('{"') && line.includes('"event"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  });

  after(async () => {
    await gateway?.close();
    await upstream?.close();
    await backend?.close();
    await receiver?.close();
  });

  it('captured real material to scan', () => {
    assert.ok(spanCount >= 8, `spans were exported (${spanCount})`);
    assert.match(captured.spans, /tools\/call api_update_profile/);
    assert.match(captured.spans, /tools\/call api_rotate_key/);
    assert.match(captured.logs, /Portcullis listening on /, 'stdout was captured');
    assert.match(captured.logs, /"level":\d+.*"msg":/, 'structured log lines were captured');
    const calls = auditRecords.filter((r) => r['event'] === 'tool.call');
    assert.ok(calls.length >= 4, `tool calls were audited (${calls.length})`);
  });

  it('delivered the secrets where they belong (backend secret and arguments reached the backend)', () => {
    const profile = backend.requests.find((r) => r.method === 'POST' && r.url === '/echo');
    assert.ok(profile, 'the profile update reached the backend');
    assert.equal(
      profile.headers['authorization'],
      `Bearer ${secrets.backendSecret}`,
      'the gateway injected the static backend secret',
    );
    assert.deepEqual(JSON.parse(profile.body), {
      password: secrets.argPassword,
      note: `Bearer ${secrets.argBearer}`,
      session: secrets.argJwt,
    });
    const keys = backend.requests.find((r) => r.method === 'PUT' && r.url === '/echo');
    assert.ok(keys, 'the approved key rotation reached the backend');
    assert.deepEqual(JSON.parse(keys.body), { service: 'billing', api_key: secrets.argApiKey });
    assert.ok(
      !backend.requests.some((r) => String(r.headers['authorization']).includes(secrets.agentKey)),
      "the agent's key never travels upstream",
    );
  });

  for (const [where, key] of [
    ['exported span', 'spans'],
    ['log line', 'logs'],
    ['audit record', 'audit'],
  ] as const) {
    it(`finds no secret in any ${where}`, () => {
      const text = captured[key];
      assert.ok(text.length > 0, `${where}s were captured`);
      const leaks = Object.entries(secrets).flatMap(([name, value]) =>
        forms(value)
          .filter((form) => text.includes(form))
          .map(() => name),
      );
      assert.deepEqual([...new Set(leaks)], [], `secrets found in ${where}s`);
    });
  }
});

/** Approve the first pending request through the operator API. */
async function approveFirstPending(baseUrl: string, token: string): Promise<void> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const response = await fetch(`${baseUrl}/v1/approvals?status=pending`, { headers });
    assert.equal(response.status, 200);
    const { approvals } = (await response.json()) as { approvals: { id: string }[] };
    const ticket = approvals[0];
    if (ticket !== undefined) {
      const approved = await fetch(`${baseUrl}/v1/approvals/${encodeURIComponent(ticket.id)}/approve`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ reason: 'rotation scheduled' }),
      });
      assert.equal(approved.status, 200, await approved.text());
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail('no pending approval request appeared');
}
