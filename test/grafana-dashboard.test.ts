/**
 * The committed Grafana dashboard (deploy/grafana/portcullis-dashboard.json) against a live gateway: every
 * metric a panel queries is one the gateway's `/metrics` exposes, every label a query selects or groups by
 * is a label the gateway puts on that metric, and every metric the gateway exposes has a panel. The
 * gateway runs with a real HTTP backend and serves allowed, denied, failing and unauthenticated calls first,
 * so the scrape carries samples with their labels.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from './fixtures/gateway-process.js';
import { INITIALIZE, rawPost, type TestGateway } from './helpers/gateway.js';
import { startMetricsGateway, type MetricsGateway } from './helpers/metrics-gateway.js';

const DASHBOARD = path.join(REPO_ROOT, 'deploy', 'grafana', 'portcullis-dashboard.json');
/** Labels Prometheus adds when it scrapes (the dashboard's instance selector), not the gateway. */
const SCRAPE_LABELS = new Set(['instance', 'job']);
const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/;
/** The gateway's own metrics and the OpenTelemetry MCP server metrics it emits beside them. */
const GATEWAY_METRIC = /\b((?:portcullis|mcp_server)_[a-z0-9_]+)/g;
const GATEWAY_SELECTOR = /\b(?:portcullis|mcp_server)_[a-z0-9_]+\{([^}]*)\}/g;
const isGatewayFamily = (name: string): boolean => name.startsWith('portcullis_') || name.startsWith('mcp_server_');

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

interface Scrape {
  /** Metric family name -> type, from `# TYPE` lines. */
  types: Map<string, string>;
  /** Sample name (with `_bucket` etc.) -> label names seen on it. */
  labels: Map<string, Set<string>>;
}

function parseScrape(text: string): Scrape {
  const types = new Map<string, string>();
  const labels = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type !== null) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+/.exec(line);
    if (sample === null) continue;
    const names = labels.get(sample[1]!) ?? new Set<string>();
    for (const match of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) names.add(match[1]!);
    labels.set(sample[1]!, names);
  }
  return { types, labels };
}

interface QueryUse {
  expr: string;
  /** Sample names the query reads, e.g. `portcullis_tool_call_duration_seconds_bucket`. */
  metrics: string[];
  /** Label names in selectors and in `by (...)` / `without (...)`. */
  labels: string[];
}

function queryUse(expr: string): QueryUse {
  const metrics = [...expr.matchAll(GATEWAY_METRIC)].map((m) => m[1]!);
  const labels = new Set<string>();
  for (const selector of expr.matchAll(GATEWAY_SELECTOR))
    for (const match of selector[1]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)) labels.add(match[1]!);
  for (const grouping of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g))
    for (const name of grouping[1]!.split(',')) if (name.trim() !== '') labels.add(name.trim());
  return { expr, metrics, labels: [...labels] };
}

function panelsOf(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...panelsOf(panel.panels ?? [])]);
}

/** The metric family a sample name belongs to (`x_bucket` -> `x` when `x` is a histogram). */
function familyOf(sample: string, scrape: Scrape): string | undefined {
  if (scrape.types.has(sample)) return sample;
  const base = sample.replace(HISTOGRAM_SUFFIX, '');
  return scrape.types.get(base) === 'histogram' || scrape.types.get(base) === 'summary' ? base : undefined;
}

describe('Grafana dashboard against a live /metrics scrape', () => {
  let gw: TestGateway;
  let scrape: Scrape;
  let queries: QueryUse[];
  let metricsGateway: MetricsGateway | undefined;

  before(async () => {
    metricsGateway = await startMetricsGateway(
      'version: 1\nname: dashboard\nrules:\n  - id: no-deletes\n    effect: deny\n    tools: [api_remove]\n',
    );
    ({ gw } = metricsGateway);
    const agent = await gw.connect('agent');
    await agent.callTool({ name: 'api_read', arguments: {} });
    await agent.callTool({ name: 'down_read', arguments: {} });
    await agent.callTool({ name: 'api_remove', arguments: {} }).catch(() => undefined);
    const refused = await rawPost(gw.gateway.mcpUrl, INITIALIZE, { authorization: 'Bearer pc_not_a_key' });
    assert.equal(refused.status, 401);

    scrape = parseScrape(await (await fetch(`${gw.gateway.baseUrl}/metrics`)).text());
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as {
      panels: Panel[];
      templating: { list: { definition?: string }[] };
    };
    queries = [
      ...panelsOf(dashboard.panels).flatMap((panel) => (panel.targets ?? []).map((t) => queryUse(t.expr))),
      // Template variables that query Prometheus (the instance picker).
      ...dashboard.templating.list.flatMap((v) => (v.definition !== undefined ? [queryUse(v.definition)] : [])),
    ];
  });
  after(async () => {
    await metricsGateway?.close();
  });

  it('the scrape carries samples for the calls made', () => {
    for (const sample of [
      'portcullis_tool_call_duration_seconds_count',
      'portcullis_decisions_total',
      'portcullis_upstream_errors_total',
      'portcullis_auth_failures_total',
      'mcp_server_operation_duration_seconds_count',
    ])
      assert.ok(scrape.labels.has(sample), `${sample} has samples`);
  });

  it('queries only metrics the gateway exposes', () => {
    assert.ok(queries.length >= 10, `${queries.length} queries`);
    for (const query of queries) {
      assert.ok(query.metrics.length > 0, `no gateway metric in ${query.expr}`);
      for (const metric of query.metrics)
        assert.ok(familyOf(metric, scrape) !== undefined, `${metric} is not in /metrics (query: ${query.expr})`);
    }
  });

  it('selects and groups only by labels the gateway sets on those metrics', () => {
    for (const query of queries) {
      for (const metric of query.metrics) {
        const seen = scrape.labels.get(metric);
        if (seen === undefined) continue; // no sample yet: the family exists (checked above), labels unseen
        for (const label of query.labels) {
          if (SCRAPE_LABELS.has(label)) continue;
          assert.ok(seen.has(label), `${metric} has no label "${label}" (query: ${query.expr})`);
        }
      }
    }
  });

  it('has a panel for every metric the gateway exposes', () => {
    const shown = new Set(queries.flatMap((q) => q.metrics.map((m) => familyOf(m, scrape))));
    const gatewayFamilies = [...scrape.types.keys()].filter(isGatewayFamily);
    assert.ok(gatewayFamilies.includes('mcp_server_operation_duration_seconds'));
    assert.ok(gatewayFamilies.includes('mcp_server_session_duration_seconds'));
    assert.ok(gatewayFamilies.length >= 8);
    for (const family of gatewayFamilies) assert.ok(shown.has(family), `no panel shows ${family}`);
  });

  it('the check catches a renamed metric and an unknown label', () => {
    const renamed = queryUse('sum(rate(portcullis_tool_calls_total[5m]))');
    assert.equal(familyOf(renamed.metrics[0]!, scrape), undefined);
    const badLabel = queryUse('sum by (agent) (rate(portcullis_decisions_total[5m]))');
    assert.equal(scrape.labels.get('portcullis_decisions_total')?.has(badLabel.labels[0]!), false);
  });
});
