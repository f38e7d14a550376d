/**
 * Per-call cost of call credentials: reusing a cached credential per (task, audience, scope) against
 * signing a fresh one on every call. Reported as a ratio measured in one run, so it is comparable across
 * machines.
 */
import { createCredentialIssuer } from '../gateway/services/credentials/issuer.js';
import { createKeySet, generateSigningKey } from '../gateway/services/credentials/keys.js';
import { parseArgs } from 'node:util';
import { isEntryPoint, readCommandLine } from './lib/command.js';

export interface CredentialsBenchResult {
  calls: number;
  /** Mean microseconds per call when credentials are reused. */
  reuseMicros: number;
  /** Mean microseconds per call when every call signs a new credential. */
  signMicros: number;
  /** signMicros / reuseMicros: how many times cheaper reuse is. */
  ratio: number;
}

export async function runCredentialsBench(options: { calls?: number } = {}): Promise<CredentialsBenchResult> {
  const calls = options.calls ?? 2000;
  const keys = createKeySet({ active: await generateSigningKey() });
  const reusing = createCredentialIssuer({ issuer: 'https://gateway.bench', keys });
  const signing = createCredentialIssuer({ issuer: 'https://gateway.bench', keys, reuseMarginSeconds: 300 });
  const request = {
    taskId: 'bench-task',
    agentId: 'bench-agent',
    audience: 'https://api.bench',
    scope: 'GET /repos/a/b',
  };

  // Warm up both paths (JIT, key import).
  for (let i = 0; i < 50; i += 1) {
    await reusing.mintCallCredential(request);
    await signing.mintCallCredential(request);
  }

  let start = process.hrtime.bigint();
  for (let i = 0; i < calls; i += 1) await reusing.mintCallCredential(request);
  const reuseNs = Number(process.hrtime.bigint() - start);

  // A reuse margin equal to the TTL means no cached credential is ever fresh enough: every call signs.
  start = process.hrtime.bigint();
  for (let i = 0; i < calls; i += 1) await signing.mintCallCredential(request);
  const signNs = Number(process.hrtime.bigint() - start);

  const reuseMicros = reuseNs / calls / 1000;
  const signMicros = signNs / calls / 1000;
  return { calls, reuseMicros, signMicros, ratio: signMicros / reuseMicros };
}

const USAGE = `usage: node --import tsx bench/credentials-bench.ts

Per-call cost of call credentials: a cached credential reused against one signed on every call.`;

if (isEntryPoint(import.meta.url)) {
  readCommandLine(USAGE, (args) => parseArgs({ args, options: {} }));
  const result = await runCredentialsBench();
  process.stdout.write(
    `credentials: reuse ${result.reuseMicros.toFixed(2)} us/call, sign ${result.signMicros.toFixed(2)} us/call, reuse is ${result.ratio.toFixed(1)}x cheaper\n`,
  );
}
