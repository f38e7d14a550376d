import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatGcRun, parseGcTrace } from './gc-trace.js';
import { positiveInteger } from './lib/options.js';

const line = (kind: string, pause: number, promoted: number): string =>
  `[123:0x1:0]   1738 ms: pause=${pause} mutator=27.0 gc=${kind} reduce_memory=0 scavenge=2.69 allocated=11988408 promoted=${promoted} new_space_survived=1110264`;

describe('gc-trace', () => {
  it("adds up each kind of collection's pauses and promoted bytes from V8's trace", () => {
    const trace = [
      'Portcullis listening on http://127.0.0.1:1/mcp',
      line('s', 2.5, 1000),
      line('s', 1.5, 3000),
      line('mc', 7.25, 10),
      'something else gc=x pause=99',
    ].join('\n');
    assert.deepEqual(parseGcTrace(trace), {
      scavenges: { count: 2, pauseMs: 4, promotedBytes: 4000 },
      markCompacts: { count: 1, pauseMs: 7.25, promotedBytes: 10 },
    });
    assert.deepEqual(parseGcTrace(''), {
      scavenges: { count: 0, pauseMs: 0, promotedBytes: 0 },
      markCompacts: { count: 0, pauseMs: 0, promotedBytes: 0 },
    });
  });

  it('prints figures per call', () => {
    const text = formatGcRun({
      build: '/elsewhere/bin/portcullis.js',
      mode: 'legacy',
      calls: 1000,
      callsPerSecond: 2500.4,
      scavenges: { count: 10, pauseMs: 20, promotedBytes: 7 * 1024 * 1000 },
      markCompacts: { count: 1, pauseMs: 5, promotedBytes: 0 },
    });
    assert.match(text, /legacy .*: 1000 calls, 2500\/s;/);
    assert.match(text, /scavenges 10 \(pause 20\.0 µs a call, promoted 7\.0 KB a call\)/);
    assert.match(text, /mark-compacts 1 \(pause 5\.0 µs a call\)/);
  });

  it('takes only positive integers for its counts, naming the option it refuses', () => {
    assert.equal(positiveInteger('calls', '200'), 200);
    for (const bad of ['0', '-1', '1.5', 'ten', ''])
      assert.throws(() => positiveInteger('calls', bad), {
        name: 'BenchUsageError',
        message: `--calls must be a positive integer (got ${JSON.stringify(bad)})`,
      });
  });
});
