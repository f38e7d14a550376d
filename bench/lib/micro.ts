/**
 * Micro-benchmarks plug into `npm run bench` by convention: a file `bench/<name>-bench.ts` exporting
 * `run<Name>Bench()` (e.g. `bench/policy-bench.ts` -> `runPolicyBench()`, `bench/credentials-bench.ts` ->
 * `runCredentialsBench()`). Each is called with no arguments; what it returns is reported under its name.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const MICRO_FILE = /^([a-z][a-z0-9]*(?:-[a-z0-9]+)*)-bench\.ts$/;

/** `policy` -> `runPolicyBench`, `tool-integrity` -> `runToolIntegrityBench`. */
export function entryPointFor(name: string): string {
  return `run${name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')}Bench`;
}

/** The micro-benchmark names found in `dir`, sorted. */
export async function findMicroBenches(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(dir)) {
    const match = MICRO_FILE.exec(entry);
    if (match?.[1] !== undefined) names.push(match[1]);
  }
  return names.sort();
}

/** Run one; a missing entry point or a throw is reported as `{ error }` rather than ending the run. */
export async function runMicroBench(dir: string, name: string): Promise<unknown> {
  const entry = entryPointFor(name);
  try {
    const mod = (await import(pathToFileURL(path.join(dir, `${name}-bench.ts`)).href)) as Record<string, unknown>;
    const run = mod[entry];
    if (typeof run !== 'function') return { error: `bench/${name}-bench.ts does not export ${entry}()` };
    return ((await (run as () => unknown)()) ?? null) as unknown;
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
