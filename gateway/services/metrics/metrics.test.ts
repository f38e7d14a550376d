import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { register as globalRegistry } from 'prom-client';
import { createMetrics } from './metrics.js';

describe('createMetrics', () => {
  it('exposes every metric with its labels after updates', async () => {
    const metrics = createMetrics();
    metrics.limitToolLabels((tool) => tool.startsWith('crm_'));
    metrics.recordDecision('allow', ['read-only']);
    metrics.recordDecision('deny', []);
    metrics.recordDecision('deny', ['no-delete', 'block-prod']);
    metrics.observeToolCall('crm_get_contact', 'ok', 0.042);
    metrics.observeToolCall('crm_delete_contact', 'denied', 0.001);
    metrics.upstreamError('crm', 'UPSTREAM_TIMEOUT');
    metrics.setApprovalsPending(3);
    metrics.addApprovalsPending(-1);
    metrics.observeApprovalDecision(12, 'approved');
    metrics.credentialMint('jwt', false);
    metrics.credentialMint('jwt', true);
    metrics.policyReload('error');
    metrics.authFailure('api-key');
    const text = await metrics.metricsText();

    assert.match(text, /^portcullis_decisions_total\{effect="allow",rule="read-only"\} 1$/m);
    assert.match(text, /^portcullis_decisions_total\{effect="deny",rule="\(default\)"\} 1$/m);
    assert.match(text, /^portcullis_decisions_total\{effect="deny",rule="block-prod\+no-delete"\} 1$/m);
    assert.match(text, /^portcullis_tool_call_duration_seconds_count\{tool="crm_get_contact",outcome="ok"\} 1$/m);
    assert.match(
      text,
      /^portcullis_tool_call_duration_seconds_bucket\{le="0.05",tool="crm_get_contact",outcome="ok"\} 1$/m,
    );
    assert.match(
      text,
      /^portcullis_tool_call_duration_seconds_bucket\{le="0.025",tool="crm_get_contact",outcome="ok"\} 0$/m,
    );
    assert.match(
      text,
      /^portcullis_tool_call_duration_seconds_count\{tool="crm_delete_contact",outcome="denied"\} 1$/m,
    );
    assert.match(text, /^portcullis_upstream_errors_total\{connector="crm",code="UPSTREAM_TIMEOUT"\} 1$/m);
    assert.match(text, /^portcullis_approvals_pending 2$/m);
    assert.match(text, /^portcullis_approval_decision_seconds_sum\{outcome="approved"\} 12$/m);
    assert.match(text, /^portcullis_credential_mints_total\{kind="jwt",reused="false"\} 1$/m);
    assert.match(text, /^portcullis_credential_mints_total\{kind="jwt",reused="true"\} 1$/m);
    assert.match(text, /^portcullis_policy_reloads_total\{result="error"\} 1$/m);
    assert.match(text, /^portcullis_auth_failures_total\{method="api-key"\} 1$/m);
  });

  it('times policy evaluations in buckets fine enough for microseconds, ignoring values that are no duration', async () => {
    const metrics = createMetrics();
    metrics.observePolicyEvaluation(0.000003);
    metrics.observePolicyEvaluation(0.00004);
    metrics.observePolicyEvaluation(0.0003);
    metrics.observePolicyEvaluation(Number.NaN);
    metrics.observePolicyEvaluation(-1);
    const text = await metrics.metricsText();
    assert.match(text, /^portcullis_policy_evaluation_seconds_bucket\{le="0.0000025"\} 0$/m);
    assert.match(text, /^portcullis_policy_evaluation_seconds_bucket\{le="0.000005"\} 1$/m);
    assert.match(text, /^portcullis_policy_evaluation_seconds_bucket\{le="0.00005"\} 2$/m);
    assert.match(text, /^portcullis_policy_evaluation_seconds_bucket\{le="0.0005"\} 3$/m);
    assert.match(text, /^portcullis_policy_evaluation_seconds_bucket\{le="\+Inf"\} 3$/m);
    assert.match(text, /^portcullis_policy_evaluation_seconds_count 3$/m);
  });

  it("reads the audit file's writes at each scrape: records, synced writes and their time by thread, waits", async () => {
    const metrics = createMetrics();
    let counts = { records: 3, syncs: 2, inlineSyncs: 1, syncMs: 1500, inlineSyncMs: 500, durableWaitMs: 4000 };
    metrics.countAuditWrites(() => counts);
    let text = await metrics.metricsText();
    assert.match(text, /^portcullis_audit_records_durable_total 3$/m);
    assert.match(text, /^portcullis_audit_synced_writes_total\{thread="event_loop"\} 1$/m);
    assert.match(text, /^portcullis_audit_synced_writes_total\{thread="pool"\} 1$/m);
    assert.match(text, /^portcullis_audit_synced_write_seconds_total\{thread="event_loop"\} 0.5$/m);
    assert.match(text, /^portcullis_audit_synced_write_seconds_total\{thread="pool"\} 1$/m);
    assert.match(text, /^portcullis_audit_durable_wait_seconds_total 4$/m);
    // The sink's running totals as they are now, not added to what an earlier scrape read.
    counts = { records: 5, syncs: 3, inlineSyncs: 1, syncMs: 2250, inlineSyncMs: 500, durableWaitMs: 6000 };
    text = await metrics.metricsText();
    assert.match(text, /^portcullis_audit_synced_write_seconds_total\{thread="pool"\} 1.75$/m);
    assert.match(text, /^portcullis_audit_durable_wait_seconds_total 6$/m);
  });

  it('uses its own registry, so two instances do not share series', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.authFailure('api-key');
    assert.match(await a.metricsText(), /auth_failures_total\{method="api-key"\} 1/);
    assert.doesNotMatch(await b.metricsText(), /auth_failures_total\{method="api-key"\}/);
    assert.doesNotMatch(await globalRegistry.metrics(), /portcullis_/);
  });

  it('folds label values beyond the cap into "other"', async () => {
    const metrics = createMetrics({ maxLabelValues: 2 });
    metrics.limitToolLabels(() => true);
    for (const tool of ['t1', 't2', 't3', 't4']) metrics.observeToolCall(tool, 'ok', 0.01);
    const text = await metrics.metricsText();
    assert.match(text, /tool_call_duration_seconds_count\{tool="t1",outcome="ok"\} 1/);
    assert.match(text, /tool_call_duration_seconds_count\{tool="t2",outcome="ok"\} 1/);
    assert.match(text, /tool_call_duration_seconds_count\{tool="other",outcome="ok"\} 2/);
    assert.doesNotMatch(text, /tool="t3"/);
  });

  it('labels an MCP method name only when MCP defines it, whatever method the agent sent', async () => {
    const metrics = createMetrics();
    const attributes = { networkTransport: 'tcp', networkProtocolName: 'http' };
    metrics.observeMcpOperation({ ...attributes, method: 'tools/call' }, 0.01);
    metrics.observeMcpOperation({ ...attributes, method: 'server/discover' }, 0.01);
    for (let i = 0; i < 50; i++)
      metrics.observeMcpOperation({ ...attributes, method: `x/${i}${'y'.repeat(200)}` }, 0.01);
    const text = await metrics.metricsText();
    assert.match(text, /mcp_server_operation_duration_seconds_count\{[^}]*mcp_method_name="tools\/call"/);
    assert.match(text, /mcp_server_operation_duration_seconds_count\{[^}]*mcp_method_name="server\/discover"/);
    assert.match(text, /mcp_server_operation_duration_seconds_count\{[^}]*mcp_method_name="_OTHER"[^}]*\} 50/);
    assert.doesNotMatch(text, /x\/\d/);
  });

  it('labels tools the catalog does not have as "unknown", whatever name the agent sent', async () => {
    const metrics = createMetrics();
    metrics.observeToolCall('crm_get_contact', 'ok', 0.01);
    metrics.limitToolLabels((tool) => tool === 'crm_get_contact');
    metrics.observeToolCall('crm_get_contact', 'ok', 0.01);
    metrics.observeToolCall('crm_drop_tables', 'error', 0.01);
    metrics.observeToolCall('<script>x</script>', 'error', 0.01);
    const text = await metrics.metricsText();
    assert.match(text, /tool_call_duration_seconds_count\{tool="crm_get_contact",outcome="ok"\} 1/);
    assert.match(text, /tool_call_duration_seconds_count\{tool="unknown",outcome="ok"\} 1/);
    assert.match(text, /tool_call_duration_seconds_count\{tool="unknown",outcome="error"\} 2/);
    assert.doesNotMatch(text, /crm_drop_tables|script/);
  });

  it('serves the exposition over HTTP through the express handler', async () => {
    const metrics = createMetrics();
    metrics.policyReload('ok');
    const app = express();
    app.get('/metrics', metrics.handler);
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      assert.match(await response.text(), /^portcullis_policy_reloads_total\{result="ok"\} 1$/m);
    } finally {
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    }
  });
});
