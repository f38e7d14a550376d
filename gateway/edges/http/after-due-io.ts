/**
 * Resolves in the event loop's check phase (`setImmediate`): after the I/O callbacks the loop already has in
 * hand in this turn have run, with the work they start up to its next wait.
 *
 * A request served where its bytes were read runs its whole first stretch (the classifier, the policy
 * decision, sealing its write-ahead record) before the loop looks at the I/O that became ready alongside
 * it: a synced audit write that finished, an upstream's answer. Those belong to calls already under way,
 * which each wait for them to go on. Awaited before a new request's work, this lets them go first, so
 * that calls under way finish before new ones start (docs/benchmarks.md, "What changed").
 */
export function afterDueIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
