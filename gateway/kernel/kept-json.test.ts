import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { keepJson, messageJson, messageJsonBytes } from './kept-json.js';

/** JSON objects as tools are listed: any members, text with escapes, non-ASCII and surrogates. */
const listedValue = fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue(), { maxKeys: 6 });
const text = fc.oneof(fc.string({ unit: 'binary' }), fc.constant('portcullis-kept-json-'), fc.constant('"tools":[]'));

/** A JSON-RPC answer whose result lists `items` under `member`, between other members. */
const answerOf = (member: string, items: unknown[], before: string, after: string, id: number | string) => ({
  result: { before, [member]: items, after, _meta: { note: after } },
  jsonrpc: '2.0',
  id,
});

describe('kept JSON', () => {
  it('writes the bytes JSON.stringify writes for an answer listing kept values', () => {
    fc.assert(
      fc.property(
        fc.array(listedValue, { minLength: 1, maxLength: 8 }),
        fc.constantFrom('tools', 'prompts', 'resources'),
        text,
        text,
        fc.oneof(fc.integer(), fc.string()),
        (values, member, before, after, id) => {
          const message = answerOf(member, values.map(keepJson), before, after, id);
          const expected = Buffer.from(JSON.stringify(message));
          assert.deepEqual(messageJsonBytes(message), expected);
          // Twice: the second time from the bytes kept the first.
          assert.deepEqual(messageJsonBytes(message), expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("reuses a kept value's bytes: they are made once", () => {
    const nested = { count: 1 };
    const tool = keepJson({ name: 'a', inputSchema: nested });
    const message = answerOf('tools', [tool], '', '', 1);
    const first = messageJsonBytes(message);
    // Against the contract (a kept value never changes), to show what is reused: the first bytes.
    nested.count = 2;
    assert.deepEqual(messageJsonBytes(message), first);
    assert.notEqual(JSON.stringify(message), first.toString());
    // Listed again among other values: the same bytes for it.
    const other = keepJson({ name: 'b' });
    const again = messageJsonBytes(answerOf('tools', [other, tool], '', '', 2)).toString();
    assert.match(again, /"inputSchema":\{"count":1\}/);
  });

  it('writes any other message as JSON.stringify does, as its string', () => {
    const kept = keepJson({ name: 'kept' });
    const messages: unknown[] = [
      { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'hi' }] } },
      { jsonrpc: '2.0', id: 2, result: { tools: [] } },
      // A listing that is not all kept values (the SDK copies a tool it changes): written as it is.
      answerOf('tools', [kept, { name: 'copy' }], 'x', 'y', 3),
      answerOf('tools', [{ name: 'copy' }, kept], 'x', 'y', 4),
      // A result JSON.stringify does not read as its members.
      { jsonrpc: '2.0', id: 5, result: { tools: [kept], toJSON: () => ({ replaced: true }) } },
      { jsonrpc: '2.0', id: 6, result: Object.assign(Object.create({ inherited: 1 }) as object, { tools: [kept] }) },
      { jsonrpc: '2.0', id: 7, error: { code: -32601, message: 'Method not found' } },
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } },
      'text',
      null,
      [kept],
    ];
    for (const message of messages) assert.equal(messageJson(message), JSON.stringify(message));
    const listed = answerOf('tools', [kept], '', '', 8);
    assert.ok(Array.isArray(messageJson(listed)), 'a listing of kept values is written from their bytes');
  });

  it('refuses to keep a value with a toJSON method, whose JSON depends on where it stands', () => {
    assert.throws(() => keepJson({ name: 'a', toJSON: (key: string) => ({ at: key }) }), TypeError);
    assert.throws(() => keepJson(new Date(0)), TypeError);
  });

  it('freezes a kept value: its own members cannot change', () => {
    const tool = keepJson({ name: 'a' }) as { name: string };
    assert.throws(() => {
      tool.name = 'b';
    }, TypeError);
  });

  it("gives each listing its own bytes: a shorter listing of the same values shows none of the longer one's", () => {
    const [a, b, c] = [keepJson({ name: 'a' }), keepJson({ name: 'b' }), keepJson({ name: 'c' })];
    const listings = [[a, b, c], [a, b], [a, c], [b], [a, b, c], [c, b, a]];
    for (const [round, tools] of listings.entries()) {
      const message = answerOf('tools', tools, '', '', round);
      assert.equal(messageJsonBytes(message).toString(), JSON.stringify(message));
    }
  });
});
