/**
 * Tool integrity: pins upstream tool definitions, quarantines a tool whose definition later changes
 * (hidden and uncallable until an operator approves the new definition), and decides what happens to a
 * tool seen for the first time (`firstSight`):
 *
 * - `trust`: pin it as listed; its flags are still recorded and policy can deny on them.
 * - `quarantine-flagged` (default): a new tool whose analysis raised a flag is held exactly like a changed
 *   one: not listed, not callable, `TOOL_QUARANTINED` in the audit log, approved by its pending hash.
 * - `quarantine-all`: every new tool waits for an operator.
 *
 * A tool held on first sight stays held until approved, even if its upstream later offers a definition
 * that would not be flagged: it was never trusted, and re-listing must not be a way to probe the analysis.
 * Every pin, quarantine and approval is audited, with the findings that explain the flags.
 */
import type { ErrorCode } from '../../kernel/index.js';
import type { ToolDescriptor } from '../../../connectors/contract.js';
import type { AuditSink } from '../audit/index.js';
import { analyzeDefinition, type DefinitionAnalysis } from './analyze.js';
import type { ToolFlag } from './findings.js';
import { diffDefinitions, pinHash, pinnedDefinition, type PinnedDefinition } from './pin.js';
import type { PendingDefinition, PinRecord, PinStore } from './pin-store.js';

export type FirstSightMode = 'trust' | 'quarantine-flagged' | 'quarantine-all';

export interface ScreenedTool {
  status: 'trusted' | 'quarantined';
  flags: ToolFlag[];
  /** Why a quarantined tool is held: `new` (first sight) or `changed` (differs from the trusted definition). */
  reason?: 'new' | 'changed';
}

export class PinError extends Error {
  override readonly name = 'PinError';
  constructor(
    readonly code: Extract<ErrorCode, 'NOT_FOUND' | 'NOT_QUARANTINED' | 'HASH_MISMATCH'>,
    message: string,
  ) {
    super(message);
  }
}

export interface ToolIntegrity {
  /**
   * Screen one connector's freshly listed tools. `allExposedNames` are every exposed tool name in the
   * catalog (for shadowing and collision checks). Fails closed: a store error quarantines the tools.
   */
  screen(
    connector: string,
    tools: readonly ToolDescriptor[],
    allExposedNames: readonly string[],
  ): Promise<Map<string, ScreenedTool>>;
  list(): Promise<PinRecord[]>;
  /** Trust the pending definition of a quarantined tool; `hash` must be the pending hash the operator saw. */
  approve(connector: string, tool: string, hash: string, operator: string): Promise<PinRecord>;
}

export interface ToolIntegrityOptions {
  store: PinStore;
  audit: AuditSink;
  /** What to do with a tool seen for the first time; default `quarantine-flagged`. */
  firstSight?: FirstSightMode;
  now?: () => Date;
}

export function createToolIntegrity(options: ToolIntegrityOptions): ToolIntegrity {
  const now = (): string => (options.now?.() ?? new Date()).toISOString();
  const { store, audit } = options;
  const firstSight = options.firstSight ?? 'quarantine-flagged';

  const holdsOnFirstSight = (analysis: DefinitionAnalysis): boolean =>
    firstSight === 'quarantine-all' || (firstSight === 'quarantine-flagged' && analysis.flags.length > 0);

  const pending = (
    reason: PendingDefinition['reason'],
    hash: string,
    definition: PinnedDefinition,
    trusted: PinnedDefinition | undefined,
    analysis: DefinitionAnalysis,
  ): PendingDefinition => ({
    hash,
    definition,
    seenAt: now(),
    reason,
    changes: diffDefinitions(trusted, definition),
    flags: analysis.flags,
    score: analysis.score,
    findings: analysis.findings,
  });

  async function screenOne(
    connector: string,
    descriptor: ToolDescriptor,
    others: readonly string[],
  ): Promise<ScreenedTool> {
    const exposed = `${connector}_${descriptor.name}`;
    const definition = pinnedDefinition(descriptor);
    const hash = pinHash(definition);
    const existing = await store.get(connector, descriptor.name);
    if (existing !== undefined) return screenAgainst(existing, exposed, definition, hash, others);

    const analysis = analyzeDefinition(exposed, definition, others);
    const first: PinRecord = holdsOnFirstSight(analysis)
      ? {
          connector,
          tool: descriptor.name,
          status: 'quarantined',
          firstSeen: now(),
          flags: [],
          pending: pending('new', hash, definition, undefined, analysis),
        }
      : {
          connector,
          tool: descriptor.name,
          hash,
          definition,
          status: 'trusted',
          firstSeen: now(),
          flags: analysis.flags,
          score: analysis.score,
          findings: analysis.findings,
        };
    const stored = await store.putFirst(first);
    // Another instance may have pinned the tool first: its record decides.
    if (stored.hash !== first.hash || stored.pending?.hash !== first.pending?.hash)
      return screenAgainst(stored, exposed, definition, hash, others);
    if (first.status === 'trusted') {
      await audit.append({
        event: 'tool.pin',
        tool: exposed,
        target: connector,
        detail: { hash, flags: analysis.flags, score: analysis.score },
      });
      return { status: 'trusted', flags: analysis.flags };
    }
    await audit.append({
      event: 'tool.quarantine',
      tool: exposed,
      target: connector,
      detail: {
        reason: 'new',
        firstSight,
        newHash: hash,
        flags: analysis.flags,
        score: analysis.score,
        findings: analysis.findings.map((f) => `${f.rule} @${f.where}: ${f.explanation}`),
      },
    });
    return { status: 'quarantined', flags: analysis.flags, reason: 'new' };
  }

  async function screenAgainst(
    record: PinRecord,
    exposed: string,
    definition: PinnedDefinition,
    hash: string,
    others: readonly string[],
  ): Promise<ScreenedTool> {
    if (record.hash !== undefined && record.hash === hash) {
      const analysis = analyzeDefinition(exposed, definition, others);
      if (
        record.status === 'quarantined' ||
        record.pending !== undefined ||
        analysis.flags.join() !== record.flags.join()
      ) {
        // The upstream went back to the trusted definition (or other tools changed its flags): trust it.
        const { pending: _dropped, ...rest } = record;
        await store.put({
          ...rest,
          status: 'trusted',
          flags: analysis.flags,
          score: analysis.score,
          findings: analysis.findings,
        });
      }
      return { status: 'trusted', flags: analysis.flags };
    }
    const reason = record.hash === undefined ? 'new' : 'changed';
    const analysis = analyzeDefinition(exposed, definition, others, record.definition);
    if (record.pending?.hash !== hash) {
      await store.put({
        ...record,
        status: 'quarantined',
        pending: pending(reason, hash, definition, record.definition, analysis),
      });
      await audit.append({
        event: 'tool.quarantine',
        tool: exposed,
        target: record.connector,
        detail: {
          reason,
          ...(record.hash !== undefined ? { trustedHash: record.hash } : {}),
          newHash: hash,
          flags: analysis.flags,
          score: analysis.score,
          findings: analysis.findings.map((f) => `${f.rule} @${f.where}: ${f.explanation}`),
        },
      });
    }
    return { status: 'quarantined', flags: analysis.flags, reason };
  }

  return {
    async screen(connectorId, tools, allExposedNames) {
      const result = new Map<string, ScreenedTool>();
      for (const tool of tools) {
        try {
          result.set(tool.name, await screenOne(connectorId, tool, allExposedNames));
        } catch {
          result.set(tool.name, { status: 'quarantined', flags: [] });
        }
      }
      return result;
    },
    list: () => store.list(),
    async approve(connectorId, tool, hash, operator) {
      const record = await store.get(connectorId, tool);
      if (record === undefined) throw new PinError('NOT_FOUND', `no pin for ${connectorId}_${tool}`);
      if (record.pending === undefined)
        throw new PinError('NOT_QUARANTINED', `${connectorId}_${tool} has no pending definition`);
      if (record.pending.hash !== hash)
        throw new PinError('HASH_MISMATCH', 'the pending definition changed since it was shown; review it again');
      const approved: PinRecord = {
        connector: connectorId,
        tool,
        hash: record.pending.hash,
        definition: record.pending.definition,
        status: 'trusted',
        firstSeen: record.firstSeen,
        approvedBy: operator,
        approvedAt: now(),
        flags: record.pending.flags,
        score: record.pending.score,
        findings: record.pending.findings,
      };
      await store.put(approved);
      await audit.append({
        event: 'tool.pin',
        tool: `${connectorId}_${tool}`,
        target: connectorId,
        actor: operator,
        detail: { hash, approved: true, reason: record.pending.reason },
      });
      return approved;
    },
  };
}
