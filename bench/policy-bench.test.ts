import assert from 'node:assert/strict';
import { it } from 'node:test';
import { formatPolicyBench, runPolicyBench } from './policy-bench.js';

it('reports, for each size, the decision times and what compiling the policy took and holds', async () => {
  const report = await runPolicyBench({ sizes: [200], decisions: 500 });
  assert.equal(report.rows.length, 1);
  const [row] = report.rows;
  assert.equal(row?.rules, 200);
  assert.equal(row.decisions, 500);
  assert.ok(row.p50Micros > 0 && row.p50Micros <= row.p99Micros, JSON.stringify(row));
  assert.ok(row.compileMillis > 0, JSON.stringify(row));
  // The compiled engine holds something for its rules; how much is the benchmark's to report, not a test's.
  assert.ok(row.heapKilobytesPerRule > 0, JSON.stringify(row));
  assert.ok(row.allowedShare > 0 && row.allowedShare < 1, JSON.stringify(row));
  const table = formatPolicyBench(report).split('\n');
  assert.match(table[0] ?? '', /compile \(ms\)\s+heap \(KB\/rule\)$/);
  assert.match(
    table[1] ?? '',
    new RegExp(`${row.compileMillis.toFixed(1)}\\s+${row.heapKilobytesPerRule.toFixed(2)}$`),
  );
});
