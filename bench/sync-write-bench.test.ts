import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runSyncWriteBench } from './sync-write-bench.js';

/** The benchmark's report and its clean-up; no timing is asserted. */
describe('synced write micro-benchmark', () => {
  it('reports ordered percentiles and CPU per write for each kind of write and leaves nothing behind', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-sync-test-'));
    try {
      const result = await runSyncWriteBench({ dir, writes: 20 });
      assert.equal(result.writes, 20);
      assert.equal(result.bytes, 600);
      assert.equal(result.pacedAppend.pauseMs, 1);
      for (const figures of [result.append, result.overwrite, result.pacedAppend, result.pooledAppend]) {
        assert.ok(figures.p50Micros >= 0);
        assert.ok(figures.p50Micros <= figures.p90Micros && figures.p90Micros <= figures.p99Micros);
        assert.ok(Number.isFinite(figures.cpuMicros) && figures.cpuMicros >= 0);
      }
      const { handOffP50Micros, p50Micros } = result.pooledAppend;
      assert.ok(Number.isFinite(handOffP50Micros) && handOffP50Micros >= 0 && handOffP50Micros <= p50Micros);
      assert.deepEqual(await readdir(dir), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
