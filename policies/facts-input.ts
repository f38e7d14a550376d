/**
 * Facts as people write them in policy tests and `policy explain` files, turned into the engine's facts.
 *
 * Short forms: `tool: helpdesk_get_ticket` stands for the tool `get_ticket` of connector `helpdesk` (an
 * `http` tool when the facts have `http`, else `mcp`); `http` needs only `method` and `path` (scheme
 * https, host `backend.test`, the scheme's port, no query); `now` is ISO 8601 or epoch milliseconds and
 * defaults to Monday 2024-01-01T12:00:00Z so tests never depend on the clock.
 */
import type { CallFacts, EgressFacts, PrincipalFacts, TaskFacts, ToolFacts } from './types.js';
import {
  CallFactsInputSchema,
  EgressFactsInputSchema,
  VisibilityInputSchema,
  type CallFactsInput,
  type EgressFactsInput,
} from './schema.js';
import type { z } from 'zod';

export const DEFAULT_TEST_NOW = Date.parse('2024-01-01T12:00:00Z');

type ParsedCallFacts = z.output<typeof CallFactsInputSchema>;
type ParsedPrincipal = ParsedCallFacts['principal'];
type ParsedTask = NonNullable<ParsedCallFacts['task']>;
type ParsedTool = ParsedCallFacts['tool'];

function principalFrom(p: ParsedPrincipal): PrincipalFacts {
  return {
    agentId: p.agentId,
    roles: p.roles,
    ...(p.tenant !== undefined ? { tenant: p.tenant } : {}),
    ...(p.environment !== undefined ? { environment: p.environment } : {}),
    ...(p.authMethod !== undefined ? { authMethod: p.authMethod } : {}),
  };
}

function taskFrom(t: ParsedTask): TaskFacts {
  return {
    id: t.id,
    ...(t.intent !== undefined ? { intent: t.intent } : {}),
    ...(t.declaredTools !== undefined ? { declaredTools: t.declaredTools } : {}),
    ...(t.labelsRead !== undefined ? { labelsRead: t.labelsRead } : {}),
  };
}

function toolFrom(tool: ParsedTool, hasHttp: boolean): ToolFacts {
  const spec = typeof tool === 'string' ? { name: tool } : tool;
  const underscore = spec.name.indexOf('_');
  const connector = spec.connector ?? (underscore > 0 ? spec.name.slice(0, underscore) : spec.name);
  const local =
    spec.local ?? (spec.name.startsWith(`${connector}_`) ? spec.name.slice(connector.length + 1) : spec.name);
  return {
    name: spec.name,
    connector,
    local,
    connectorKind: spec.connectorKind ?? (hasHttp ? 'http' : 'mcp'),
    ...(spec.annotations !== undefined ? { annotations: spec.annotations } : {}),
    ...(spec.flags !== undefined ? { flags: spec.flags } : {}),
  };
}

function timeFrom(now: string | number | undefined): number {
  if (now === undefined) return DEFAULT_TEST_NOW;
  return typeof now === 'number' ? now : Date.parse(now);
}

/** Validate and complete call facts. Throws a ZodError for malformed input. */
export function callFactsFromInput(input: CallFactsInput | unknown): CallFacts {
  const f = CallFactsInputSchema.parse(input);
  const http = f.http;
  return {
    principal: principalFrom(f.principal),
    ...(f.task !== undefined ? { task: taskFrom(f.task) } : {}),
    tool: toolFrom(f.tool, http !== undefined),
    ...(http !== undefined
      ? {
          http: {
            method: http.method.toUpperCase(),
            scheme: http.scheme,
            host: http.host.toLowerCase(),
            port: http.port ?? (http.scheme === 'https' ? 443 : 80),
            path: http.path,
            query: http.query,
          },
        }
      : {}),
    args: f.args,
    now: timeFrom(f.now),
  };
}

/** Validate and complete egress facts. Throws a ZodError for malformed input. */
export function egressFactsFromInput(input: EgressFactsInput | unknown): EgressFacts {
  const f = EgressFactsInputSchema.parse(input);
  const scheme = f.scheme.toLowerCase();
  return {
    ...(f.principal !== undefined ? { principal: principalFrom(f.principal) } : {}),
    ...(f.task !== undefined ? { task: taskFrom(f.task) } : {}),
    connector: f.connector,
    ...(f.tool !== undefined ? { tool: f.tool } : {}),
    scheme,
    host: f.host.toLowerCase(),
    port: f.port ?? (scheme === 'https' || scheme === 'wss' ? 443 : 80),
    ...(f.ip !== undefined ? { ip: f.ip } : {}),
    ...(f.addressClass !== undefined ? { addressClass: f.addressClass } : {}),
  };
}

/** Validate and complete a visibility question. Throws a ZodError for malformed input. */
export function visibilityFromInput(input: unknown): { principal: PrincipalFacts; tool: ToolFacts } {
  const v = VisibilityInputSchema.parse(input);
  return { principal: principalFrom(v.principal), tool: toolFrom(v.tool, false) };
}
