/**
 * sealRecord against the procedure the chain documents, for generated inputs: normalise the input through
 * JSON, drop the chain fields, redact `detail`, put `seq` and `ts` first and `prev` last, and hash the JSON
 * text of that, which is the line without its closing hash member. Logs verify only if every record is
 * sealed exactly so. The file's writer (`sealLine`) and the in-memory sink are held to sealRecord.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  computeRecordHash,
  EMPTY_HEAD,
  lineHashChecks,
  REDACTED,
  redactDetail,
  sealLine,
  sealRecord,
  serialiseRecord,
} from './chain.js';
import type { AuditChainHead } from './chain.js';
import { createMemoryAuditSink } from './memory-sink.js';
import type { AuditRecordInput } from './types.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

function documentedSeal(input: object, head: AuditChainHead, now: Date): Record<string, unknown> {
  const normalised = JSON.parse(JSON.stringify(input)) as Record<string, unknown>;
  for (const field of ['seq', 'ts', 'prev', 'hash']) delete normalised[field];
  if (normalised['detail'] !== undefined) normalised['detail'] = redactDetail(normalised['detail']);
  const unsealed = { seq: head.seq + 1, ts: now.toISOString(), ...normalised, prev: head.hash };
  return { ...unsealed, hash: sha256(JSON.stringify(unsealed)) };
}

const secretKey = fc.constantFrom('token', 'Authorization', 'x-api-key', 'client_secret', 'password', 'cookie');
const plainKey = fc.constantFrom('a', 'b', 'tool', 'url', 'list', 'count', 'keyId', '__proto__', 'seq', 'hash');
/** Values JSON.stringify writes as something else: what their `toJSON` returns, or their primitive. */
const serialisedAs = (value: unknown) =>
  fc.constantFrom<unknown>(
    { toJSON: () => value },
    Object.assign(Object.create({ toJSON: () => value }) as object, { shadowed: 'member' }),
    new Date(Date.UTC(2026, 0, 2)),
    new Number(7),
    new String('boxed'),
    new Boolean(true),
    () => 'function',
  );
const detailValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, 0, -0, 1.5, 'text', undefined, Number.NaN, Infinity),
    fc.string(),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(plainKey, secretKey, fc.string()), tie('value'), { maxKeys: 4 }),
    tie('value').chain(serialisedAs),
  ),
})).value;
const input = fc.record(
  {
    event: fc.constantFrom('call.intent', 'tool.call', 'task.open'),
    agentId: fc.option(fc.string(), { nil: undefined }),
    tool: fc.string(),
    latencyMs: fc.oneof(fc.double(), fc.integer()),
    rules: fc.array(fc.string(), { maxLength: 3 }),
    seq: fc.integer(),
    ts: fc.string(),
    prev: fc.string(),
    hash: fc.string(),
    detail: fc.dictionary(fc.oneof(plainKey, secretKey), detailValue, { maxKeys: 5 }),
  },
  { requiredKeys: ['event'] },
);
const head = fc.record({ seq: fc.nat(), hash: fc.stringMatching(/^[0-9a-f]{64}$/) });
/** Inputs as the gateway makes them (no chain field, often nothing to redact), and every other kind. */
const topKey = fc.oneof(
  fc.constantFrom(
    'tool',
    'target',
    'reason',
    '0',
    '7',
    '9',
    '10',
    '4294967295',
    '1a',
    '__proto__',
    'seq',
    'ts',
    'prev',
    'hash',
  ),
  fc.string(),
);
const anyInput = fc.oneof(
  input,
  fc.record({ event: fc.constantFrom('tool.call'), detail: fc.dictionary(plainKey, detailValue, { maxKeys: 3 }) }),
  fc
    .tuple(fc.constantFrom('tool.call', 'call.intent'), fc.dictionary(topKey, detailValue, { maxKeys: 5 }))
    .map(([event, members]) => ({ ...members, event })),
  // Not a plain object: JSON.stringify writes what its toJSON returns, or its own members if it has none.
  fc.tuple(input, fc.boolean()).map(([members, withToJson]) => {
    const record: object = withToJson
      ? Object.assign(Object.create({ toJSON: () => ({ ...members, rewritten: true }) }) as object, { hidden: 1 })
      : Object.assign(new (class Record {})(), members);
    return record;
  }),
);

describe('sealRecord', () => {
  it('seals every input exactly as the documented procedure does, and a reader parses back what was hashed', () => {
    fc.assert(
      fc.property(input, head, (generated, chainHead) => {
        const record = sealRecord(generated as unknown as AuditRecordInput, chainHead, NOW);
        const expected = documentedSeal(generated, chainHead, NOW);
        assert.equal(serialiseRecord(record), `${JSON.stringify(expected)}\n`);
        const parsed = JSON.parse(serialiseRecord(record)) as Record<string, unknown>;
        assert.deepEqual(parsed, expected);
        assert.equal(computeRecordHash(parsed), record.hash);
        const line = serialiseRecord(record).slice(0, -1);
        assert.ok(line.endsWith(`,"hash":"${record.hash}"}`));
        assert.equal(sha256(`${line.slice(0, line.length - `,"hash":"${record.hash}"}`.length)}}`), record.hash);
        assert.ok(lineHashChecks(line, record));
      }),
      { numRuns: 400 },
    );
  });

  it('sealLine writes the very line and hash sealRecord and serialiseRecord make, for any input', () => {
    fc.assert(
      fc.property(anyInput, head, (generated, chainHead) => {
        const record = sealRecord(generated as unknown as AuditRecordInput, chainHead, NOW);
        const sealed = sealLine(generated as unknown as AuditRecordInput, chainHead, NOW);
        assert.deepEqual(sealed, { seq: record.seq, ts: record.ts, hash: record.hash, line: serialiseRecord(record) });
      }),
      { numRuns: 1000 },
    );
  });

  it('sealLine writes a plain input from its own JSON, between the chain fields', () => {
    const chainHead = { seq: 41, hash: 'a'.repeat(64) };
    const sealed = sealLine({ event: 'tool.call', tool: 't', detail: { operation: 'tools/call' } }, chainHead, NOW);
    const body = '{"event":"tool.call","tool":"t","detail":{"operation":"tools/call"}';
    const hash = sha256(`{"seq":42,"ts":"2026-03-01T12:00:00.000Z",${body.slice(1)},"prev":"${'a'.repeat(64)}"}`);
    assert.equal(
      sealed.line,
      `{"seq":42,"ts":"2026-03-01T12:00:00.000Z",${body.slice(1)},"prev":"${'a'.repeat(64)}","hash":"${hash}"}\n`,
    );
    assert.deepEqual([sealed.seq, sealed.ts, sealed.hash], [42, NOW.toISOString(), hash]);
    const empty = sealLine({} as AuditRecordInput, chainHead, NOW);
    assert.match(empty.line, /^\{"seq":42,"ts":"[^"]+","prev":"a{64}","hash":"[0-9a-f]{64}"\}\n$/);
  });

  it('sealLine hashes what its line says even when a toJSON answers differently each time it is asked', () => {
    let asked = 0;
    const drifting = { toJSON: () => ({ asked: ++asked }) };
    const chainHead = { seq: 3, hash: 'c'.repeat(64) };
    for (const input of [
      { event: 'tool.call', detail: { value: drifting } },
      { event: 'tool.call', target: drifting },
      { event: 'tool.call', rules: [drifting] },
    ]) {
      const sealed = sealLine(input as unknown as AuditRecordInput, chainHead, NOW);
      const parsed = JSON.parse(sealed.line) as Record<string, unknown>;
      assert.equal(computeRecordHash(parsed), sealed.hash, sealed.line);
    }
  });

  it('a memory sink holds, record after record, what sealRecord makes along the same chain', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyInput, { minLength: 1, maxLength: 6 }), async (inputs) => {
        const sink = createMemoryAuditSink({ now: () => NOW });
        let chainHead: AuditChainHead = EMPTY_HEAD;
        const expected = inputs.map((generated) => {
          const record = sealRecord(generated as unknown as AuditRecordInput, chainHead, NOW);
          chainHead = { seq: record.seq, hash: record.hash };
          return record;
        });
        for (const generated of inputs) await sink.append(generated as unknown as AuditRecordInput);
        assert.deepEqual(sink.records, expected);
        assert.deepEqual(sink.head(), chainHead);
      }),
      { numRuns: 300 },
    );
  });

  it('sealLine refuses what JSON cannot write, as sealRecord does', () => {
    const cyclic: Record<string, unknown> = { event: 'tool.call' };
    cyclic['detail'] = { self: cyclic };
    for (const bad of [{ event: 'tool.call', detail: { n: 1n } }, cyclic]) {
      assert.throws(
        () => sealLine(bad as unknown as AuditRecordInput, { seq: 0, hash: '0'.repeat(64) }, NOW),
        TypeError,
      );
    }
  });

  it('redacts a secret-looking key wherever it is in detail and keeps everything else as it is', () => {
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ list: [1, { nested: { token: 't' } }] }, { list: [1, { nested: { token: REDACTED } }] }],
      [
        { a: 1, b: { c: 2 }, cookie: 'c' },
        { a: 1, b: { c: 2 }, cookie: REDACTED },
      ],
      [{ a: [[{ b: [{ apiKey: 'k' }] }]] }, { a: [[{ b: [{ apiKey: REDACTED }] }]] }],
      [
        { a: [1, 'token'], b: { keyId: 'k1' } },
        { a: [1, 'token'], b: { keyId: 'k1' } },
      ],
    ];
    for (const [detail, written] of cases) {
      const record = sealRecord({ event: 'task.open', detail }, { seq: 0, hash: '0'.repeat(64) }, NOW);
      assert.deepEqual(record.detail, written);
      assert.equal(record.hash, computeRecordHash(JSON.parse(serialiseRecord(record)) as object));
    }
  });

  it('keeps a __proto__ member of detail as a member, redacted or not, and never as the prototype', () => {
    const detail = JSON.parse('{"__proto__":{"token":"t","polluted":true},"a":1}') as Record<string, unknown>;
    const record = sealRecord({ event: 'task.open', detail }, { seq: 0, hash: '0'.repeat(64) }, NOW);
    const written = record.detail as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(written), Object.prototype);
    assert.equal((written as { polluted?: unknown }).polluted, undefined);
    assert.deepEqual(Object.keys(written), ['__proto__', 'a']);
    assert.match(serialiseRecord(record), /"detail":\{"__proto__":\{"token":"\[redacted\]","polluted":true\},"a":1\}/);
    const copy = redactDetail(JSON.parse('{"__proto__":{"x":1}}')) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(copy), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value, { x: 1 });
  });
});
