/**
 * Step 3 of the pipeline (decide): build the call's facts and ask the policy engine.
 *
 * The engine is pure; this module only assembles facts from what earlier steps established (principal,
 * task, resolved tool, the prepared operation with its canonical path) and reads the current engine from
 * the policy store, so a hot reload takes effect on the next call. Any exception from the engine is a deny.
 */
import type { PreparedCall } from '../../connectors/contract.js';
import type { CallFacts, ItemFacts, PrincipalFacts, TaskFacts, ToolFacts } from '../../policies/types.js';
import type { CallDecision as Decision } from '../../policies/engine.js';
import type { Principal } from '../kernel/index.js';
import { matchNameGlob } from '../../policies/index.js';
import type { CatalogTool } from '../services/catalog/index.js';

/** The part of the policy engine the pipeline needs. */
export interface DecisionEngine {
  readonly version: string;
  evaluate(call: CallFacts): Decision;
  visible(principal: PrincipalFacts, tool: ToolFacts): boolean;
  evaluateItem(facts: ItemFacts): Decision;
  itemVisible(facts: ItemFacts): boolean;
}

export interface PolicySource {
  current(): DecisionEngine;
}

export function principalFacts(principal: Principal): PrincipalFacts {
  return {
    agentId: principal.agentId,
    roles: principal.roles,
    ...(principal.tenant !== undefined ? { tenant: principal.tenant } : {}),
    ...(principal.environment !== undefined ? { environment: principal.environment } : {}),
    authMethod: principal.authMethod,
  };
}

export function toolFacts(tool: CatalogTool): ToolFacts {
  return {
    name: tool.exposedName,
    connector: tool.connector.id,
    local: tool.descriptor.name,
    connectorKind: tool.connector.kind,
    ...(tool.descriptor.annotations !== undefined ? { annotations: tool.descriptor.annotations } : {}),
    ...(tool.flags.length > 0 ? { flags: tool.flags } : {}),
  };
}

export function callFacts(input: {
  principal: Principal;
  task?: TaskFacts;
  tool: CatalogTool;
  call: PreparedCall;
  now: number;
}): CallFacts {
  const operation = input.call.operation;
  return {
    principal: principalFacts(input.principal),
    ...(input.task !== undefined ? { task: input.task } : {}),
    tool: toolFacts(input.tool),
    ...(operation !== undefined
      ? {
          http: {
            method: operation.method,
            scheme: operation.scheme,
            host: operation.host,
            port: operation.port,
            path: operation.path,
            query: operation.query,
          },
        }
      : {}),
    args: input.call.args,
    now: input.now,
  };
}

export function decide(source: PolicySource, facts: CallFacts): Decision {
  let engine: DecisionEngine;
  try {
    engine = source.current();
    return engine.evaluate(facts);
  } catch {
    // Fail closed: a broken or missing policy never allows.
    return { effect: 'deny', code: 'POLICY_DENIED', rules: [], reason: 'policy evaluation failed' };
  }
}

export function isVisible(source: PolicySource, principal: Principal, tool: CatalogTool): boolean {
  try {
    return source.current().visible(principalFacts(principal), toolFacts(tool));
  } catch {
    return false;
  }
}

/**
 * A task that declared the tools it needs may not silently use others: an `allow` for a tool outside the
 * declaration becomes `approve` (an operator decides); deny and approve stand.
 */
export function withinDeclaredTools(decision: Decision, task: TaskFacts, tool: string): Decision {
  if (decision.effect !== 'allow' || task.declaredTools === undefined) return decision;
  // The policy language's name-glob dialect (`*`, `?`, everything else literal), the same one the engine
  // applies to `task.declared` and to tool globs in rules: one meaning for every pattern anyone writes.
  if (task.declaredTools.some((pattern) => matchNameGlob(pattern, tool))) return decision;
  return {
    ...decision,
    effect: 'approve',
    code: 'APPROVAL_REQUIRED',
    reason: `${tool} is outside the tools the task declared`,
    rules: [...decision.rules, 'task:declared-tools'],
  };
}

/** Is a resource or prompt shown to this principal (listings, notifications)? Any exception hides it. */
export function isItemVisible(source: PolicySource, principal: Principal, item: Omit<ItemFacts, 'principal'>): boolean {
  try {
    return source.current().itemVisible({ ...item, principal: principalFacts(principal) });
  } catch {
    return false;
  }
}

/**
 * Decide a resource (by its canonical URI) or a prompt (by its exposed name). Any exception from the
 * engine is a deny, as for calls.
 */
export function decideItem(source: PolicySource, principal: Principal, item: Omit<ItemFacts, 'principal'>): Decision {
  try {
    return source.current().evaluateItem({ ...item, principal: principalFacts(principal) });
  } catch {
    return { effect: 'deny', code: 'POLICY_DENIED', rules: [], reason: 'policy evaluation failed' };
  }
}
