/**
 * Tool integrity: pins upstream tool definitions the first time they are seen, quarantines a tool whose
 * definition later changes (hidden and uncallable until an operator approves the new definition), and
 * flags suspicious definitions (see analyze.ts). Every pin, quarantine and approval is audited.
 */
import type { ErrorCode } from '../../kernel/index.js';
import type { ToolDescriptor } from '../../../connectors/contract.js';
import type { AuditSink } from '../audit/index.js';
import { analyzeTool, type ToolFlag } from './analyze.js';
import { diffDefinitions, pinHash, pinnedDefinition } from './pin.js';
import type { PinRecord, PinStore } from './pin-store.js';

export interface ScreenedTool {
  status: 'trusted' | 'quarantined';
  flags: ToolFlag[];
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

export function createToolIntegrity(options: { store: PinStore; audit: AuditSink; now?: () => Date }): ToolIntegrity {
  const now = (): string => (options.now?.() ?? new Date()).toISOString();
  const { store, audit } = options;

  async function screenOne(
    connector: string,
    descriptor: ToolDescriptor,
    others: readonly string[],
  ): Promise<ScreenedTool> {
    const exposed = `${connector}_${descriptor.name}`;
    const definition = pinnedDefinition(descriptor);
    const hash = pinHash(definition);
    const existing = await store.get(connector, descriptor.name);
    if (existing === undefined) {
      const flags = analyzeTool(exposed, definition, others);
      const stored = await store.putFirst({
        connector,
        tool: descriptor.name,
        hash,
        definition,
        status: 'trusted',
        firstSeen: now(),
        flags,
      });
      if (stored.hash === hash) {
        await audit.append({ event: 'tool.pin', tool: exposed, target: connector, detail: { hash, flags } });
        return { status: 'trusted', flags };
      }
      return screenAgainst(stored, exposed, definition, hash, others);
    }
    return screenAgainst(existing, exposed, definition, hash, others);
  }

  async function screenAgainst(
    record: PinRecord,
    exposed: string,
    definition: ReturnType<typeof pinnedDefinition>,
    hash: string,
    others: readonly string[],
  ): Promise<ScreenedTool> {
    if (record.hash === hash) {
      const flags = analyzeTool(exposed, definition, others);
      if (record.status === 'quarantined' || record.pending !== undefined || flags.join() !== record.flags.join()) {
        // The upstream went back to the trusted definition: trust it again.
        const { pending: _dropped, ...rest } = record;
        await store.put({ ...rest, status: 'trusted', flags });
      }
      return { status: 'trusted', flags };
    }
    const flags = analyzeTool(exposed, definition, others, record.definition);
    if (record.pending?.hash !== hash) {
      await store.put({
        ...record,
        status: 'quarantined',
        pending: { hash, definition, seenAt: now(), changes: diffDefinitions(record.definition, definition), flags },
      });
      await audit.append({
        event: 'tool.quarantine',
        tool: exposed,
        target: connector(record),
        detail: { trustedHash: record.hash, newHash: hash, flags },
      });
    }
    return { status: 'quarantined', flags };
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
      };
      await store.put(approved);
      await audit.append({
        event: 'tool.pin',
        tool: `${connectorId}_${tool}`,
        target: connectorId,
        actor: operator,
        detail: { hash, approved: true },
      });
      return approved;
    },
  };
}

function connector(record: PinRecord): string {
  return record.connector;
}
