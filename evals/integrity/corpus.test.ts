/**
 * The tool-integrity corpus as tests: its shape (enough samples of each label, every one with its source,
 * halves disjoint), the targets on the held-out test half, and that no tool of the reference MCP servers is
 * held under the default first-sight mode when the real integrity service screens them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ToolDescriptor } from '../../connectors/contract.js';
import type { AuditRecordInput } from '../../gateway/services/audit/index.js';
import { createMemoryPinStore, createToolIntegrity } from '../../gateway/services/integrity/index.js';
import { CORPUS_TARGETS, loadCorpusHalf, scoreCorpus, type CorpusSample } from './corpus.js';

const [test, dev] = await Promise.all([loadCorpusHalf('test'), loadCorpusHalf('dev')]);
const all = [...test, ...dev];

describe('tool-integrity corpus', () => {
  it('holds at least 40 poisoned and 40 benign definitions, each with its source, in disjoint halves', () => {
    assert.ok(all.filter((s) => s.label === 'poisoned').length >= 40);
    assert.ok(all.filter((s) => s.label === 'benign').length >= 40);
    assert.equal(new Set(all.map((s) => s.id)).size, all.length, 'ids are unique across both halves');
    for (const half of [test, dev]) {
      const classes = new Set(half.filter((s) => s.label === 'poisoned').map((s) => s.class));
      for (const attack of ['tool-poisoning', 'shadowing', 'rug-pull', 'line-jumping', 'parameter-exfiltration'])
        assert.ok(classes.has(attack as CorpusSample['class']), `${attack} in both halves`);
    }
    for (const sample of all.filter((s) => s.label === 'benign'))
      assert.match(sample.source, /^npm (?:@[\w.-]+\/)?[\w.-]+@\d[\w.-]*, tools\/list/, sample.id);
  });

  it(`flags poisoned definitions of the held-out test half with precision >= ${CORPUS_TARGETS.precision} and recall >= ${CORPUS_TARGETS.recall}`, () => {
    const score = scoreCorpus('test', test);
    const detail = `precision ${score.precision}, recall ${score.recall}; missed ${score.missed.join(', ')}; false alarms ${score.falseAlarms.join(', ')}`;
    assert.ok(score.precision >= CORPUS_TARGETS.precision, detail);
    assert.ok(score.recall >= CORPUS_TARGETS.recall, detail);
  });

  it('holds no tool of the reference MCP servers under the default first-sight mode', async () => {
    const audit: AuditRecordInput[] = [];
    const integrity = createToolIntegrity({
      store: createMemoryPinStore(),
      audit: { append: async (r) => void audit.push(r), flush: async () => {}, close: async () => {} },
    });
    const reference = all.filter((s) => s.label === 'benign');
    const catalog = reference.map((s) => `${s.connector}_${s.tool.name}`);
    const connectors = [...new Set(reference.map((s) => s.connector))];
    assert.ok(connectors.length >= 4, connectors.join(','));
    const held: string[] = [];
    for (const connector of connectors) {
      const tools = reference.filter((s) => s.connector === connector).map((s) => s.tool as unknown as ToolDescriptor);
      for (const [name, verdict] of await integrity.screen(connector, tools, catalog))
        if (verdict.status !== 'trusted') held.push(`${connector}_${name} [${verdict.flags.join(', ')}]`);
    }
    assert.deepEqual(held, []);
    assert.equal(audit.filter((r) => r.event === 'tool.pin').length, reference.length);
  });
});
