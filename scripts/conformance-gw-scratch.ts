import { startConformanceGateway } from '../test/conformance/gateway-under-test.js';
import { runConformanceSuite, formatRun } from '../test/conformance/suite.js';
const gw = await startConformanceGateway();
console.log('gateway up', gw.gateway.url);
try {
  const run = await runConformanceSuite({ url: gw.url, suite: (process.argv[2] as 'all') ?? 'active' });
  console.log(formatRun(run));
  if (run.scenarios.length === 0) console.log(run.output);
} finally { console.log(gw.gateway.stderr().slice(-3000)); await gw.close(); }
