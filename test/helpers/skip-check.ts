/**
 * The rule that a CI run cannot pass by skipping: every skipped or todo test must be listed, with a reason, in
 * test/skip-allowlist.yaml. Used by scripts/run-tests.js on the records scripts/skip-reporter.js writes.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

export interface SkippedTest {
  kind: 'skip' | 'todo';
  /** Path relative to the repository root. */
  file: string;
  name: string;
  /** The reason the test gave when it skipped itself, or ''. */
  reason: string;
}

const AllowlistSchema = z.array(
  z
    .object({
      file: z.string().min(1),
      test: z.string().min(1),
      reason: z.string().trim().min(10, 'each allowed skip needs a reason of at least a sentence'),
    })
    .strict(),
);
export type SkipAllowlist = z.infer<typeof AllowlistSchema>;

export function loadSkipAllowlist(path: string): SkipAllowlist {
  const parsed = AllowlistSchema.safeParse(parse(readFileSync(path, 'utf8')) ?? []);
  if (!parsed.success) throw new Error(`${path}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Parses the reporter's JSON lines. */
export function parseSkipRecords(text: string): SkippedTest[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as SkippedTest);
}

export interface SkipVerdict {
  /** Skipped tests not in the allowlist: each fails a CI run. */
  unlisted: SkippedTest[];
  /** Allowlist entries that no longer skip: worth removing, never a failure. */
  stale: SkipAllowlist;
}

export function judgeSkips(skipped: readonly SkippedTest[], allowlist: SkipAllowlist): SkipVerdict {
  const listed = (s: SkippedTest) => allowlist.some((entry) => entry.file === s.file && entry.test === s.name);
  const skippedNow = (entry: SkipAllowlist[number]) =>
    skipped.some((s) => s.file === entry.file && s.name === entry.test);
  return { unlisted: skipped.filter((s) => !listed(s)), stale: allowlist.filter((entry) => !skippedNow(entry)) };
}
