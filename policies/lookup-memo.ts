/**
 * A bounded memo of the engine's index lookups. Which rules could decide a call depends only on the tool
 * (its name and connector) and the principal (its agent and roles), and a gateway's calls repeat a few
 * such pairs, so a decision can read the rules it must evaluate from one entry instead of walking the
 * index: fewer places in memory touched per decision, which is what a decision costs on a core whose
 * caches went cold between calls.
 *
 * Bounded two ways, because both the number of pairs and the size of an entry (a policy with thousands of
 * rules for anyone puts all of them in every entry) are the policy's and the callers' to choose: at most
 * `maxEntries` entries, holding at most `maxWeight` in all (the caller weighs an entry, here by the rule
 * references it holds). An entry that would pass either bound empties the memo first: a working set that
 * fits stays, and one that does not costs what a decision cost without the memo, plus the merge.
 */
export class LookupMemo<V> {
  private readonly entries = new Map<string, V>();
  private weight = 0;

  constructor(
    readonly maxEntries: number,
    readonly maxWeight: number,
  ) {}

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  /** Keep `value` under `key`; one heavier than `maxWeight` on its own is not kept. */
  set(key: string, value: V, weight: number): void {
    if (weight > this.maxWeight) return;
    if (this.entries.size >= this.maxEntries || this.weight + weight > this.maxWeight) {
      this.entries.clear();
      this.weight = 0;
    }
    this.entries.set(key, value);
    this.weight += weight;
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * One string per (tool, principal) that no other pair gives: every part is preceded by its length, so no
 * name, whatever characters it holds, can pass for a separator.
 */
export function lookupKey(toolName: string, connector: string, agentId: string, roles: readonly string[]): string {
  let key = `${toolName.length}:${toolName}${connector.length}:${connector}${agentId.length}:${agentId}`;
  for (const role of roles) key += `${role.length}:${role}`;
  return key;
}
