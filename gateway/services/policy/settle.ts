/**
 * How much longer to wait before files written in place count as complete: each must have a modification
 * time at least `settleMs` in the past. Missing files count as settled (the load reports them).
 */
import { statSync } from 'node:fs';

export function settleRemaining(files: readonly string[], settleMs: number, now: number = Date.now()): number {
  let wait = 0;
  for (const file of files) {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(file).mtimeMs;
    } catch {
      continue;
    }
    wait = Math.max(wait, mtimeMs + settleMs - now);
  }
  return Math.ceil(wait);
}
