/**
 * Finding one tool as a principal sees it: the same entry `listTools` gives, judged by policy for that tool
 * alone. A 2026-07-28 `tools/call` looks its tool up this way on every call (for its `Mcp-Param-*`
 * headers), so the work must not grow with the catalog.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHttpConnector } from '../../connectors/http/index.js';
import { compilePolicy } from '../../policies/index.js';
import { messageJson, messageJsonBytes, type Principal } from '../kernel/index.js';
import { createMemoryAuditSink } from '../services/audit/index.js';
import { createCatalog, type Catalog } from '../services/catalog/index.js';
import { createPipeline, type Pipeline } from './index.js';

const TOOLS = 40;
const principal: Principal = { agentId: 'agent', roles: [], authMethod: 'api-key' };

describe('a visible tool, found by name', () => {
  let catalog: Catalog;
  let pipeline: Pipeline;
  let judged = 0;

  before(async () => {
    const connector = await createHttpConnector({
      id: 'api',
      kind: 'http',
      baseUrl: 'http://127.0.0.1:9',
      tools: Array.from({ length: TOOLS }, (_, i) => ({
        name: `t${i}`,
        method: 'GET',
        path: `/t${i}`,
        inputSchema: { type: 'object', properties: { q: { type: 'string' } } },
      })),
    });
    catalog = createCatalog({
      connectors: [connector],
      catalogContext: () => ({ signal: AbortSignal.timeout(5000), fetch }),
    });
    await catalog.refresh();
    const engine = compilePolicy([], {
      extraRules: [
        { id: 'allow-most', effect: 'allow', tools: ['api_*'] },
        { id: 'hide-t3', effect: 'deny', tools: ['api_t3'] },
      ],
    });
    // The real engine, counting how many tools it is asked to judge for visibility.
    const counting = Object.create(engine) as typeof engine;
    counting.visible = (...args: Parameters<typeof engine.visible>) => {
      judged++;
      return engine.visible(...args);
    };
    pipeline = createPipeline({
      catalog,
      policy: { current: () => counting },
      egress: { fetchFor: () => fetch },
      audit: createMemoryAuditSink(),
      flushAuditBeforeResponse: true,
      callTimeoutMs: 5000,
    });
  });
  after(async () => {
    catalog?.close();
    await Promise.all(catalog?.connectors().map((c) => c.close()) ?? []);
  });

  it('is the entry listTools gives, judged alone', () => {
    const listed = pipeline.listTools(principal);
    assert.equal(listed.length, TOOLS - 1);
    judged = 0;
    for (const entry of listed) {
      assert.deepEqual(pipeline.visibleTool(principal, entry.name), entry);
    }
    assert.equal(judged, listed.length, 'one judgement per lookup, not one per catalog tool');
  });

  it('is nothing for a hidden or unknown tool', () => {
    judged = 0;
    assert.equal(pipeline.visibleTool(principal, 'api_t3'), undefined);
    assert.equal(pipeline.visibleTool(principal, 'api_nope'), undefined);
    assert.equal(pipeline.visibleTool(principal, 'other_t1'), undefined);
    assert.ok(judged <= 1, `judged ${judged} tools`);
  });

  it('lists each tool as the same frozen value, whose answer is written from its kept JSON', () => {
    const first = pipeline.listTools(principal);
    const second = pipeline.listTools(principal);
    assert.equal(first.length, TOOLS - 1);
    first.forEach((entry, i) => {
      assert.equal(second[i], entry, `${entry.name} is listed as the same value`);
      assert.ok(Object.isFrozen(entry));
    });
    assert.ok(!first.some((entry) => entry.name === 'api_t3'), 'the hidden tool is not listed');
    const answer = { result: { tools: first }, jsonrpc: '2.0', id: 7 };
    assert.ok(Array.isArray(messageJson(answer)), 'written in parts from the kept JSON');
    assert.equal(messageJsonBytes(answer).toString(), JSON.stringify(answer));
  });

  it('lists new values once the catalog is loaded again', async () => {
    const before = pipeline.listTools(principal);
    await catalog.refresh();
    const after = pipeline.listTools(principal);
    assert.deepEqual(after, before);
    after.forEach((entry, i) => assert.notEqual(entry, before[i], `${entry.name} is listed anew`));
  });
});
