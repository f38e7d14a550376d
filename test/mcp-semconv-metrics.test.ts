/**
 * The OpenTelemetry MCP server metrics on a live `/metrics` scrape: `mcp.server.operation.duration` for
 * each request on the session (initialize, listings, allowed, denied, failing and unknown tool calls) and
 * `mcp.server.session.duration` once a session ends, with the conventions' attributes as Prometheus labels, beside the gateway's own metrics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { startHttpBackend } from './fixtures/http-backend.js';
import type { TestGateway } from './helpers/gateway.js';
import { startMetricsGateway, type MetricsGateway } from './helpers/metrics-gateway.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[label[1]!] = label[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

describe('MCP semantic-convention metrics on /metrics', () => {
  let backend: Awaited<ReturnType<typeof startHttpBackend>>;
  let gw: TestGateway;
  let metricsGateway: MetricsGateway | undefined;
  let samples: Sample[];
  let negotiated: string | undefined;
  let backendRequests = 0;

  before(async () => {
    metricsGateway = await startMetricsGateway(
      'version: 1\nname: metrics\nrules:\n  - id: no-deletes\n    effect: deny\n    tools: [api_remove]\n    when: "true"\n',
    );
    ({ backend, gw } = metricsGateway);
    const agent = await gw.connect('agent');
    const transport = agent.transport as StreamableHTTPClientTransport;
    negotiated = transport.protocolVersion;
    backendRequests = backend.requests.length;
    assert.notEqual((await agent.callTool({ name: 'api_read', arguments: {} })).isError, true);
    const denied = await agent.callTool({ name: 'api_remove', arguments: {} });
    assert.equal(denied.isError, true);
    assert.equal((denied._meta as Record<string, unknown> | undefined)?.['portcullis/code'], 'POLICY_DENIED');
    assert.equal(
      backend.requests.slice(backendRequests).filter((r) => r.method === 'DELETE').length,
      0,
      'the denied call never reached the backend',
    );
    assert.equal((await agent.callTool({ name: 'down_read', arguments: {} })).isError, true);
    await agent.listTools();
    await assert.rejects(agent.callTool({ name: 'api_nope', arguments: {} }));
    await transport.terminateSession();
    await agent.close();
    // The session's close is handled when the DELETE is answered; the histogram is read after it.
    samples = parseSamples(await (await fetch(`${gw.gateway.baseUrl}/metrics`)).text());
  });

  after(async () => {
    await metricsGateway?.close();
  });

  const count = (name: string, labels: Record<string, string>): number | undefined =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value))
      ?.value;

  it('negotiated a protocol version', () => {
    assert.equal(typeof negotiated, 'string');
  });

  it('records mcp.server.operation.duration per tool call with the conventions attributes', () => {
    const base = {
      mcp_method_name: 'tools/call',
      network_transport: 'tcp',
      network_protocol_name: 'http',
      mcp_protocol_version: negotiated!,
    };
    const name = 'mcp_server_operation_duration_seconds_count';
    assert.equal(count(name, { ...base, gen_ai_tool_name: 'api_read', error_type: '' }), 1, 'allowed call, no error');
    assert.equal(count(name, { ...base, gen_ai_tool_name: 'api_remove', error_type: 'POLICY_DENIED' }), 1);
    const failed = samples.find(
      (s) => s.name === name && s.labels['gen_ai_tool_name'] === 'down_read' && s.labels['error_type'] !== '',
    );
    assert.ok(failed !== undefined, 'the backend failure carries error.type');
    assert.match(failed.labels['error_type']!, /^UPSTREAM_/);
    assert.equal(failed.labels['network_transport'], 'tcp');
  });

  it('times every request on the session, with the stable code of a JSON-RPC error as error.type', () => {
    const name = 'mcp_server_operation_duration_seconds_count';
    const conn = { network_transport: 'tcp', mcp_protocol_version: negotiated! };
    assert.equal(count(name, { ...conn, mcp_method_name: 'initialize', error_type: '' }), 1);
    assert.equal(count(name, { ...conn, mcp_method_name: 'tools/list', error_type: '' }), 1);
    // A name the agent invented is counted under `unknown`: agents choose the names they send.
    const unknown = samples.find(
      (s) =>
        s.name === name && s.labels['gen_ai_tool_name'] === 'unknown' && s.labels['error_type'] === 'TOOL_NOT_FOUND',
    );
    assert.ok(unknown !== undefined, 'the unknown tool is counted');
    assert.ok(!samples.some((s) => s.labels['gen_ai_tool_name'] === 'api_nope'), 'the invented name is no label value');
  });

  it('uses the bucket boundaries the conventions advise', () => {
    const bounds = samples
      .filter(
        (s) => s.name === 'mcp_server_operation_duration_seconds_bucket' && s.labels['gen_ai_tool_name'] === 'api_read',
      )
      .map((s) => s.labels['le']);
    assert.deepEqual(bounds, [
      '0.01',
      '0.02',
      '0.05',
      '0.1',
      '0.2',
      '0.5',
      '1',
      '2',
      '5',
      '10',
      '30',
      '60',
      '120',
      '300',
      '+Inf',
    ]);
  });

  it('records mcp.server.session.duration when the session ends', () => {
    assert.equal(
      count('mcp_server_session_duration_seconds_count', {
        network_transport: 'tcp',
        network_protocol_name: 'http',
        mcp_protocol_version: negotiated!,
      }),
      1,
    );
  });

  it('keeps the gateway metrics beside them', () => {
    assert.equal(count('portcullis_tool_call_duration_seconds_count', { tool: 'api_read', outcome: 'ok' }), 1);
  });
});
