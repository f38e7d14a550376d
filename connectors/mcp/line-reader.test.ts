import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envelopeId, LineReader, type OversizedLine } from './line-reader.js';

function reader(max: number) {
  const lines: string[] = [];
  const oversized: OversizedLine[] = [];
  const r = new LineReader(max, { onLine: (l) => lines.push(l), onOversized: (o) => oversized.push(o) });
  return { r, lines, oversized };
}

describe('LineReader', () => {
  it('splits lines across chunks and strips CR', () => {
    const { r, lines } = reader(100);
    r.push(Buffer.from('{"a":1}\r\n{"b"'));
    r.push(Buffer.from(':2}\n\n'));
    assert.deepEqual(lines, ['{"a":1}', '{"b":2}']);
  });

  it('drops a line over the cap as it streams, keeping only its edges, then reads the next one', () => {
    const { r, lines, oversized } = reader(1000);
    r.push(Buffer.from('{"jsonrpc":"2.0","id":7,"result":"'));
    for (let i = 0; i < 200; i += 1) r.push(Buffer.alloc(10_000, 'x'));
    r.push(Buffer.from('"}\n{"ok":true}\n'));
    assert.deepEqual(lines, ['{"ok":true}']);
    assert.equal(oversized.length, 1);
    assert.equal(oversized[0]!.bytes, 34 + 2_000_000 + 2);
    assert.ok(oversized[0]!.head.length <= 4096 && oversized[0]!.tail.length <= 4096);
    assert.equal(envelopeId(oversized[0]!), 7);
  });

  it('says when a line crosses the cap, with its head, before the line ends', () => {
    const heads: string[] = [];
    const r = new LineReader(100, {
      onLine: () => undefined,
      onOversized: () => undefined,
      onOversizedStart: (h) => heads.push(h),
    });
    r.push(Buffer.from('{"jsonrpc":"2.0","id":"q-1","result":"'));
    assert.deepEqual(heads, []);
    r.push(Buffer.alloc(200, 'y'));
    assert.equal(heads.length, 1);
    assert.equal(envelopeId({ head: heads[0]!, tail: '', bytes: 0 }), 'q-1');
  });

  it('a line of exactly the cap passes', () => {
    const { r, lines, oversized } = reader(10);
    r.push(Buffer.from('0123456789\n01234567890\n'));
    assert.deepEqual(lines, ['0123456789']);
    assert.equal(oversized.length, 1);
  });
});

describe('envelopeId', () => {
  const edges = (head: string, tail: string): OversizedLine => ({ head, tail, bytes: 0 });
  it('reads the id at the start or at the very end of the envelope', () => {
    assert.equal(envelopeId(edges('{"jsonrpc":"2.0","id":"a-1","result":{', '')), 'a-1');
    assert.equal(envelopeId(edges('{"id":3,"jsonrpc":"2.0"', '')), 3);
    assert.equal(envelopeId(edges('{"result":{"content"', 'xx"}]},"jsonrpc":"2.0","id":12}')), 12);
  });
  it('ignores an id nested inside the result', () => {
    assert.equal(envelopeId(edges('{"result":{"id":5,', 'x"}],"item":{"id":9}}}')), undefined);
  });
});
