import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatHeapSummary, summarizeHeapProfile, type HeapProfileNode } from './heap-sample.js';

const ROOT = '/repo';

function node(functionName: string, url: string, selfSize: number, children: HeapProfileNode[] = []): HeapProfileNode {
  return { callFrame: { functionName, url, lineNumber: 9 }, selfSize, children };
}

/**
 * A profile of two calls: the gateway's `handle` allocates 1 KB itself, makes zod allocate 4 KB and a Map
 * 2 KB; Node's HTTP parser allocates 1 KB with no gateway frame on its stack.
 */
const head = node('(root)', '', 0, [
  node('parserOnHeadersComplete', 'node:_http_common', 1024),
  node('handle', `file://${ROOT}/dist/gateway/edges/mcp/http-edge.js`, 1024, [
    node('safeParse', `file://${ROOT}/node_modules/zod/v4/classic/schemas.js`, 4096),
    node('Map', '', 2048),
  ]),
]);

describe('heap-sample', () => {
  it('gives what was allocated per call, by owner, by frame and by the gateway frame that asked for it', () => {
    const summary = summarizeHeapProfile(head, { calls: 2, root: ROOT });
    assert.equal(summary.kbPerCall, 4);
    assert.deepEqual(summary.owners, [
      { name: 'zod', kbPerCall: 2 },
      { name: '(native)', kbPerCall: 1 },
      { name: 'node', kbPerCall: 0.5 },
      { name: 'portcullis', kbPerCall: 0.5 },
    ]);
    assert.deepEqual(summary.frames[0], { name: 'safeParse (zod/v4/classic/schemas.js:10)', kbPerCall: 2 });
    assert.deepEqual(summary.ownFrames, [{ name: 'handle (dist/gateway/edges/mcp/http-edge.js:10)', kbPerCall: 3.5 }]);
  });

  it('keeps the heaviest frames only, and every owner', () => {
    const summary = summarizeHeapProfile(head, { calls: 1, root: ROOT, top: 1 });
    assert.equal(summary.frames.length, 1);
    assert.equal(summary.ownFrames.length, 1);
    assert.equal(summary.owners.length, 4);
  });

  it('walks a stack deeper than the call stack would allow recursion for', () => {
    let deep = node('leaf', `file://${ROOT}/dist/x.js`, 1024);
    for (let i = 0; i < 50_000; i++) deep = node('f', `file://${ROOT}/dist/x.js`, 0, [deep]);
    assert.equal(summarizeHeapProfile(deep, { calls: 1, root: ROOT }).kbPerCall, 1);
  });

  it('prints the figures per call under a title', () => {
    const text = formatHeapSummary(summarizeHeapProfile(head, { calls: 2, root: ROOT }), 'legacy, allocated');
    assert.match(text, /^legacy, allocated: 4\.0 KB a call over 2 calls/);
    assert.match(text, /\n +2\.00 {2}zod\n/);
    assert.match(text, /\n +3\.50 {2}handle \(dist\/gateway\/edges\/mcp\/http-edge\.js:10\)$/);
  });
});
