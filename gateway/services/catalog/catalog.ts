/**
 * Step 2 of the pipeline (resolve): the federated catalog of everything the connectors offer, under exposed
 * names `${connectorId}_${name}`. Connector ids cannot contain `_`, so the first `_` always separates the
 * connector from its local name and two connectors can never produce the same exposed name.
 *
 * The catalog is rebuilt per connector when that connector reports a change; readers always see a complete
 * snapshot (the per-connector entry is swapped in one assignment).
 */
import type {
  CatalogContext,
  Connector,
  PromptDescriptor,
  ResourceDescriptor,
  ResourceTemplateDescriptor,
  ToolDescriptor,
} from '../../../connectors/contract.js';

/** MCP tool names: 1-128 characters of A-Z a-z 0-9 _ - . */
const EXPOSED_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export interface CatalogTool {
  exposedName: string;
  connector: Connector;
  descriptor: ToolDescriptor;
  /** Integrity flags (shadowing, model-instructions, ... see gateway/integrity), for policy and operators. */
  flags: readonly string[];
  /** Why a quarantined tool is held: `new` (first sight) or `changed` (differs from its trusted definition). */
  quarantine?: 'new' | 'changed';
}

/** Integrity screening of a connector's tools: which are trusted, which are quarantined, with flags. */
export type ToolScreen = (
  connector: Connector,
  tools: readonly ToolDescriptor[],
  allExposedNames: readonly string[],
) => Promise<Map<string, { status: 'trusted' | 'quarantined'; flags: readonly string[]; reason?: 'new' | 'changed' }>>;

export interface CatalogPrompt {
  exposedName: string;
  connector: Connector;
  descriptor: PromptDescriptor;
}

export interface CatalogResource {
  connector: Connector;
  descriptor: ResourceDescriptor;
}

export interface CatalogTemplate {
  connector: Connector;
  descriptor: ResourceTemplateDescriptor;
}

interface ConnectorEntry {
  tools: Map<string, CatalogTool>;
  /** Tools hidden until an operator approves their changed definition. */
  quarantined: Map<string, CatalogTool>;
  prompts: Map<string, CatalogPrompt>;
  resources: CatalogResource[];
  templates: CatalogTemplate[];
  /** Why the last refresh failed, if it did (the previous snapshot is kept). */
  error?: string;
}

export interface CatalogWarning {
  connector: string;
  message: string;
}

export interface Catalog {
  /** Load (or reload) one connector's offer, or all. Failures keep the previous snapshot and are reported. */
  refresh(connectorId?: string): Promise<void>;
  tools(): CatalogTool[];
  resolveTool(exposedName: string): CatalogTool | undefined;
  /** A tool that exists but is quarantined (for auditing why a call was refused). */
  quarantinedTool(exposedName: string): CatalogTool | undefined;
  prompts(): CatalogPrompt[];
  resolvePrompt(exposedName: string): CatalogPrompt | undefined;
  resources(): CatalogResource[];
  templates(): CatalogTemplate[];
  /** The connector that offers a resource URI: exact listed URI first, then the connector whose template matches. */
  resolveResource(uri: string): Connector | undefined;
  connectors(): readonly Connector[];
  warnings(): readonly CatalogWarning[];
  /** Called after any connector's offer changed. Returns an unsubscribe function. */
  onChange(listener: (kinds: ReadonlySet<'tools' | 'resources' | 'prompts'>) => void): () => void;
  close(): void;
}

export interface CatalogOptions {
  connectors: readonly Connector[];
  /** Context for listing calls of one connector (its egress-scoped fetch). */
  catalogContext: (connector: Connector) => CatalogContext;
  onWarning?: (warning: CatalogWarning) => void;
  /** Pins and flags upstream tools; absent = every listed tool is trusted as listed. */
  screen?: ToolScreen;
}

export function createCatalog(options: CatalogOptions): Catalog {
  const entries = new Map<string, ConnectorEntry>();
  const warnings: CatalogWarning[] = [];
  const listeners = new Set<(kinds: ReadonlySet<'tools' | 'resources' | 'prompts'>) => void>();
  const byId = new Map(options.connectors.map((c) => [c.id, c]));
  const unsubscribers: (() => void)[] = [];

  const warn = (connector: string, message: string): void => {
    const warning = { connector, message };
    warnings.push(warning);
    if (warnings.length > 100) warnings.shift();
    options.onWarning?.(warning);
  };

  const notify = (kinds: ReadonlySet<'tools' | 'resources' | 'prompts'>): void => {
    for (const listener of listeners) listener(kinds);
  };

  // Loads are serialised so integrity screening sees every other connector's names.
  let loading: Promise<void> = Promise.resolve();
  const load = (connector: Connector): Promise<void> => {
    const next = loading.then(() => loadNow(connector));
    loading = next.catch(() => undefined);
    return next;
  };

  async function loadNow(connector: Connector): Promise<void> {
    const ctx = options.catalogContext(connector);
    const previous = entries.get(connector.id);
    try {
      const tools = new Map<string, CatalogTool>();
      const quarantined = new Map<string, CatalogTool>();
      const listed = await connector.listTools(ctx);
      for (const descriptor of listed) {
        const exposedName = `${connector.id}_${descriptor.name}`;
        if (!EXPOSED_NAME.test(exposedName)) {
          warn(connector.id, `tool "${descriptor.name}" skipped: exposed name must match ${EXPOSED_NAME.source}`);
          continue;
        }
        if (tools.has(exposedName)) {
          warn(connector.id, `tool "${descriptor.name}" listed twice; both copies hidden`);
          tools.delete(exposedName);
          continue;
        }
        tools.set(exposedName, { exposedName, connector, descriptor, flags: [] });
      }
      if (options.screen !== undefined && connector.kind === 'mcp') {
        const others = [...(await allToolNames(connector.id)), ...tools.keys()];
        const screened = await options.screen(
          connector,
          [...tools.values()].map((t) => t.descriptor),
          others,
        );
        for (const [exposedName, tool] of tools) {
          const verdict = screened.get(tool.descriptor.name) ?? { status: 'quarantined' as const, flags: [] };
          tool.flags = verdict.flags;
          if (verdict.status === 'quarantined') {
            tools.delete(exposedName);
            quarantined.set(exposedName, { ...tool, quarantine: verdict.reason ?? 'changed' });
          }
        }
      }
      const prompts = new Map<string, CatalogPrompt>();
      const resources: CatalogResource[] = [];
      const templates: CatalogTemplate[] = [];
      if (connector.catalog !== undefined) {
        for (const descriptor of await connector.catalog.listPrompts(ctx)) {
          const exposedName = `${connector.id}_${descriptor.name}`;
          prompts.set(exposedName, { exposedName, connector, descriptor });
        }
        for (const descriptor of await connector.catalog.listResources(ctx)) resources.push({ connector, descriptor });
        for (const descriptor of await connector.catalog.listResourceTemplates(ctx))
          templates.push({ connector, descriptor });
      }
      entries.set(connector.id, { tools, quarantined, prompts, resources, templates });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      warn(connector.id, `catalog refresh failed: ${message}`);
      entries.set(connector.id, { ...(previous ?? emptyEntry()), error: message });
    }
  }

  for (const connector of options.connectors) {
    const unsubscribe = connector.onChange?.((change) => {
      void load(connector).then(() => notify(new Set([change])));
    });
    if (unsubscribe !== undefined) unsubscribers.push(unsubscribe);
  }

  const all = <T>(pick: (entry: ConnectorEntry) => Iterable<T>): T[] => {
    const out: T[] = [];
    for (const connector of options.connectors) {
      const entry = entries.get(connector.id);
      if (entry !== undefined) out.push(...pick(entry));
    }
    return out;
  };

  /**
   * Exposed names of every other connector's tools (trusted or not), for cross-connector checks. Read from
   * the connectors themselves, not only from loaded entries: a first-sight decision is final until an
   * operator acts, so it must see connectors whose load has not run yet (their listings are cached
   * snapshots, so this is cheap). A connector that cannot list right now contributes what it last listed.
   */
  const allToolNames = async (except: string): Promise<string[]> => {
    const names = new Set<string>();
    for (const [id, entry] of entries)
      if (id !== except) for (const name of [...entry.tools.keys(), ...entry.quarantined.keys()]) names.add(name);
    await Promise.all(
      options.connectors
        .filter((c) => c.id !== except)
        .map(async (c) => {
          const listed = await c.listTools(options.catalogContext(c)).catch(() => []);
          for (const tool of listed) names.add(`${c.id}_${tool.name}`);
        }),
    );
    return [...names];
  };

  const connectorOf = (exposedName: string): ConnectorEntry | undefined => {
    const separator = exposedName.indexOf('_');
    if (separator <= 0) return undefined;
    return entries.get(exposedName.slice(0, separator));
  };

  return {
    async refresh(connectorId) {
      const targets =
        connectorId !== undefined ? options.connectors.filter((c) => c.id === connectorId) : options.connectors;
      // An explicit refresh re-reads the backends (a changed definition must reach the pin check).
      await Promise.all(targets.map((c) => c.reload?.().catch(() => undefined)));
      if (connectorId !== undefined) {
        const connector = byId.get(connectorId);
        if (connector !== undefined) await load(connector);
      } else {
        await Promise.all(options.connectors.map(load));
      }
      notify(new Set(['tools', 'resources', 'prompts']));
    },
    tools: () => all((e) => e.tools.values()),
    resolveTool: (name) => connectorOf(name)?.tools.get(name),
    quarantinedTool: (name) => connectorOf(name)?.quarantined.get(name),
    prompts: () => all((e) => e.prompts.values()),
    resolvePrompt: (name) => connectorOf(name)?.prompts.get(name),
    resources: () => all((e) => e.resources),
    templates: () => all((e) => e.templates),
    resolveResource(uri) {
      for (const connector of options.connectors) {
        if (entries.get(connector.id)?.resources.some((r) => r.descriptor.uri === uri)) return connector;
      }
      for (const connector of options.connectors) {
        const entry = entries.get(connector.id);
        if (entry?.templates.some((t) => templateMatches(t.descriptor.uriTemplate, uri))) return connector;
      }
      return undefined;
    },
    connectors: () => options.connectors,
    warnings: () => warnings,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      for (const unsubscribe of unsubscribers) unsubscribe();
      listeners.clear();
    },
  };
}

function emptyEntry(): ConnectorEntry {
  return { tools: new Map(), quarantined: new Map(), prompts: new Map(), resources: [], templates: [] };
}

/** RFC 6570 level-1 matching, enough to route a URI to the connector whose template produced it. */
export function templateMatches(template: string, uri: string): boolean {
  const pattern = template
    .split(/(\{[^}]+\})/)
    .map((part) =>
      part.startsWith('{') ? (part.startsWith('{+') ? '.+' : '[^/]+') : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${pattern}$`).test(uri);
}
