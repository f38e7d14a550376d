/**
 * resolve: the exposed name or URI to a connector and its tool, resource or prompt. Unknown and hidden
 * items are indistinguishable to the caller (TOOL_NOT_FOUND, RESOURCE_NOT_FOUND, PROMPT_NOT_FOUND); the
 * audit record keeps the real reason.
 */
import type { JsonObject } from '../../../connectors/contract.js';
import { canonicalResourceUri } from '../../../policies/index.js';
import { GatewayError } from '../../kernel/index.js';
import type { Catalog, CatalogTool } from '../../services/catalog/index.js';
import { isVisible, type PolicySource } from '../decide.js';
import type { Step } from '../step.js';

export function resolveToolStep(catalog: Catalog, policy: PolicySource): Step {
  return {
    name: 'resolve',
    run(state) {
      const tool = catalog.resolveTool(state.name);
      if (tool === undefined || !isVisible(policy, state.ctx.principal, tool)) {
        const quarantined = tool === undefined ? catalog.quarantinedTool(state.name) : undefined;
        state.record.code = quarantined !== undefined ? 'TOOL_QUARANTINED' : 'TOOL_NOT_FOUND';
        state.record.reason =
          quarantined !== undefined
            ? quarantineReason(quarantined)
            : tool === undefined
              ? 'unknown tool'
              : 'tool not visible to this agent';
        return { end: new GatewayError('TOOL_NOT_FOUND', `unknown tool: ${state.name}`) };
      }
      state.target = { kind: 'tool', tool };
      state.record.target = tool.connector.id;
      return undefined;
    },
  };
}

/**
 * Resources resolve by their canonical URI (see policies/resource-uri.ts), which is also what policy
 * judges and what the upstream receives. A URI without a canonical form is refused as unknown.
 */
export function resolveResourceStep(catalog: Catalog): Step {
  return {
    name: 'resolve',
    run(state) {
      const uri = canonicalResourceUri(state.name);
      const connector = uri !== undefined ? catalog.resolveResource(uri) : undefined;
      if (uri === undefined || connector?.catalog === undefined) {
        state.record.reason = uri === undefined ? 'the URI has no canonical form' : 'unknown resource';
        return { end: new GatewayError('RESOURCE_NOT_FOUND', `Resource not found: ${state.name}`) };
      }
      state.target = { kind: 'resource', connector, uri };
      state.record.operation = `${state.operation} ${uri}`;
      state.record.target = connector.id;
      return undefined;
    },
  };
}

export function resolvePromptStep(catalog: Catalog): Step {
  return {
    name: 'resolve',
    run(state) {
      const prompt = catalog.resolvePrompt(state.name);
      if (prompt?.connector.catalog === undefined) {
        state.record.reason = 'unknown prompt';
        return { end: new GatewayError('PROMPT_NOT_FOUND', `Prompt not found: ${state.name}`) };
      }
      state.target = {
        kind: 'prompt',
        connector: prompt.connector,
        exposedName: prompt.exposedName,
        name: prompt.descriptor.name,
      };
      state.record.target = prompt.connector.id;
      return undefined;
    },
  };
}

/**
 * Completion requests name a prompt or a resource (template). An unknown reference completes to nothing,
 * as the MCP specification expects of a server that has no completions for it.
 */
export function resolveCompletionStep(catalog: Catalog): Step {
  return {
    name: 'resolve',
    run(state) {
      const ref = state.args['ref'] as JsonObject | undefined;
      let connector;
      if (ref?.['type'] === 'ref/prompt' && typeof ref['name'] === 'string') {
        const prompt = catalog.resolvePrompt(ref['name']);
        if (prompt !== undefined) {
          connector = prompt.connector;
          state.target = { kind: 'prompt', connector, exposedName: prompt.exposedName, name: prompt.descriptor.name };
        }
      } else if (typeof ref?.['uri'] === 'string') {
        const uri = canonicalResourceUri(ref['uri']);
        if (uri !== undefined) {
          connector =
            catalog.resolveResource(uri) ??
            catalog.templates().find((t) => canonicalResourceUri(t.descriptor.uriTemplate) === uri)?.connector;
        }
        if (connector !== undefined && uri !== undefined) state.target = { kind: 'resource', connector, uri };
      }
      if (connector?.catalog?.complete === undefined) {
        state.result = EMPTY_COMPLETION;
        return { finish: true };
      }
      state.record.target = connector.id;
      return undefined;
    },
  };
}

export const EMPTY_COMPLETION: JsonObject = { completion: { values: [], hasMore: false } };

/** The audited reason a quarantined tool was refused (the agent only ever sees an unknown tool). */
function quarantineReason(tool: CatalogTool): string {
  const flags = tool.flags.length > 0 ? ` (flags: ${tool.flags.join(', ')})` : '';
  return tool.quarantine === 'new'
    ? `new tool held on first sight${flags}; quarantined until an operator approves it`
    : `tool definition changed${flags}; quarantined until an operator approves it`;
}
