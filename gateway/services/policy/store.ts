/**
 * The policy store: loads and compiles the policy files, hot-reloads them, and hands out the current
 * engine.
 *
 * Reloads are atomic: the new set of files is read, validated and compiled as a whole, and only then
 * swapped in; a call in flight keeps the engine it started with. A bad file (syntax, schema, CEL, duplicate
 * rule id, unreadable) keeps the last good engine and is reported by `status()` and `onReload`. At startup
 * there is no last good engine, so a bad policy makes `createPolicyStore` throw: the gateway does not
 * start on a policy it cannot read (fail closed).
 *
 * Watching uses `fs.watch` on the folders of the files (editors and config tooling replace files by
 * renaming, which a watch on the file itself would lose), and reloads are serialised. A file being written
 * is never enforced: a version that arrives by atomic rename (write a temp file in the same folder, rename
 * it over the policy file) is taken after `debounceMs`; a file written in place is taken only once it has
 * been unchanged (no write events, modification time at least that old) for `settleMs`. A writer that
 * pauses longer than `settleMs` in the middle of a write is not supported; use a rename.
 *
 * Shadow policy: `shadowFiles` are compiled next to the enforced policy; the engine `current()` returns
 * decides with the enforced policy, then asks the shadow engine the same question and reports both
 * decisions through `onShadowDecision`: for tool calls, egress, and resources and prompts (reads,
 * subscriptions, prompt gets and completions; not listings, which only ask whether an item is shown). A
 * shadow decision is never enforced, and nothing about the shadow policy (failure to load, an exception, a
 * slow callback's error) can change the enforced decision.
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import {
  compilePolicy,
  isPolicyCompileError,
  type CallFacts,
  type Decision,
  type EgressFacts,
  type ItemFacts,
  type ParsedPolicy,
  type PolicyEngine,
  type RuleInput,
} from '../../../policies/index.js';
import { readPolicyFiles } from './load.js';
import { settleRemaining } from './settle.js';

interface MinimalLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface PolicyLoadError {
  file: string;
  message: string;
  /** ISO time of the failed load. */
  at: string;
}

export type ReloadResult =
  | { ok: true; version: string; changed: boolean; shadow?: { ok: boolean; version?: string; error?: PolicyLoadError } }
  | { ok: false; error: PolicyLoadError };

export interface PolicyStatus {
  version: string;
  /** ISO time the enforced engine was loaded. */
  loadedAt: string;
  ruleCount: number;
  files: readonly string[];
  /** The last failed load, cleared by the next good one. */
  lastError?: PolicyLoadError;
  shadow?: { version?: string; loadedAt?: string; lastError?: PolicyLoadError };
}

/** What a shadow decision was about: a tool call, an egress request, a resource or a prompt. */
export type ShadowDecisionKind = 'call' | 'egress' | ItemFacts['kind'];

export type ShadowDecisionListener = (
  enforced: Decision,
  shadow: Decision,
  facts: CallFacts | EgressFacts | ItemFacts,
  info: { kind: ShadowDecisionKind; enforcedVersion: string; shadowVersion: string },
) => void;

export interface PolicyStoreOptions {
  files: readonly string[];
  shadowFiles?: readonly string[];
  /** Rules the gateway generates (baselines); called on every load. */
  extraRules?: () => readonly (RuleInput | object)[];
  watch: boolean;
  /** Quiet time after a file was replaced by rename before reloading; default 100 ms. */
  debounceMs?: number;
  /** How long a file written in place must stay unchanged before it is loaded; default 2000 ms. */
  settleMs?: number;
  onReload?: (result: ReloadResult) => void;
  onShadowDecision?: ShadowDecisionListener;
  /**
   * Called once with the enforced policy's documents as read at startup, for checks that need them once
   * (the gateway's unknown-reference warnings): so that nothing reads and validates the files again. The
   * store does not keep them.
   */
  onStartupDocuments?: (documents: readonly ParsedPolicy[]) => void;
  logger?: MinimalLogger;
}

export interface PolicyStore {
  current(): PolicyEngine;
  status(): PolicyStatus;
  /** Re-read and swap now (also what a file change triggers). Never throws. */
  reload(): Promise<ReloadResult>;
  close(): Promise<void>;
}

function loadError(error: unknown): PolicyLoadError {
  const at = new Date().toISOString();
  if (isPolicyCompileError(error)) return { file: error.file, message: error.message, at };
  return { file: '', message: error instanceof Error ? error.message : String(error), at };
}

async function compileFiles(
  files: readonly string[],
  extraRules: (() => readonly (RuleInput | object)[]) | undefined,
  onDocuments?: (documents: readonly ParsedPolicy[]) => void,
): Promise<PolicyEngine> {
  const documents = await readPolicyFiles(files);
  const engine = compilePolicy(documents, {
    extraRules: extraRules?.() ?? [],
    extraRulesSource: '(gateway configuration)',
  });
  onDocuments?.(documents);
  return engine;
}

/** An engine that decides with `enforced` and reports what `shadow` would have decided. */
function withShadow(enforced: PolicyEngine, shadow: PolicyEngine, listener: ShadowDecisionListener): PolicyEngine {
  const report = (
    kind: ShadowDecisionKind,
    decision: Decision,
    facts: CallFacts | EgressFacts | ItemFacts,
    decideShadow: () => Decision,
  ): void => {
    try {
      listener(decision, decideShadow(), facts, {
        kind,
        enforcedVersion: enforced.version,
        shadowVersion: shadow.version,
      });
    } catch {
      // Shadow mode is observation only: its failures never reach the enforced path.
    }
  };
  return {
    version: enforced.version,
    ruleCount: enforced.ruleCount,
    evaluate(call) {
      const decision = enforced.evaluate(call);
      report('call', decision, call, () => shadow.evaluate(call));
      return decision;
    },
    evaluateEgress(facts) {
      const decision = enforced.evaluateEgress(facts);
      report('egress', decision, facts, () => shadow.evaluateEgress(facts));
      return decision;
    },
    // Listings and notifications are not decisions on a request: shown by the enforced policy only.
    visible: (principal, tool) => enforced.visible(principal, tool),
    itemVisible: (facts) => enforced.itemVisible(facts),
    evaluateItem(facts) {
      const decision = enforced.evaluateItem(facts);
      report(facts.kind, decision, facts, () => shadow.evaluateItem(facts));
      return decision;
    },
    explain: (call) => enforced.explain(call),
    explainEgress: (facts) => enforced.explainEgress(facts),
  };
}

export async function createPolicyStore(options: PolicyStoreOptions): Promise<PolicyStore> {
  const files = options.files.map((f) => path.resolve(f));
  const shadowFiles = (options.shadowFiles ?? []).map((f) => path.resolve(f));
  const logger = options.logger;

  // Startup: the enforced policy must load; a bad shadow policy is reported, not fatal.
  let enforced = await compileFiles(files, options.extraRules, options.onStartupDocuments);
  let loadedAt = new Date().toISOString();
  let lastError: PolicyLoadError | undefined;
  let shadow: PolicyEngine | undefined;
  let shadowLoadedAt: string | undefined;
  let shadowError: PolicyLoadError | undefined;
  if (shadowFiles.length > 0) {
    try {
      shadow = await compileFiles(shadowFiles, options.extraRules);
      shadowLoadedAt = loadedAt;
    } catch (error) {
      shadowError = loadError(error);
      logger?.warn({ file: shadowError.file, err: shadowError.message }, 'shadow policy not loaded');
    }
  }
  let active = enforced;
  const rebuild = (): void => {
    active =
      shadow !== undefined && options.onShadowDecision !== undefined
        ? withShadow(enforced, shadow, options.onShadowDecision)
        : enforced;
  };
  rebuild();
  logger?.info({ version: enforced.version, rules: enforced.ruleCount, files: files.length }, 'policy loaded');

  const loadOnce = async (): Promise<ReloadResult> => {
    let next: PolicyEngine;
    try {
      next = await compileFiles(files, options.extraRules);
    } catch (error) {
      lastError = loadError(error);
      logger?.warn(
        { file: lastError.file, err: lastError.message, version: enforced.version },
        'policy reload failed; keeping the last good policy',
      );
      return { ok: false, error: lastError };
    }
    const changed = next.version !== enforced.version;
    lastError = undefined;
    if (changed) {
      enforced = next;
      loadedAt = new Date().toISOString();
      logger?.info({ version: next.version, rules: next.ruleCount }, 'policy reloaded');
    }
    let shadowResult: { ok: boolean; version?: string; error?: PolicyLoadError } | undefined;
    if (shadowFiles.length > 0) {
      try {
        const nextShadow = await compileFiles(shadowFiles, options.extraRules);
        if (nextShadow.version !== shadow?.version) {
          shadow = nextShadow;
          shadowLoadedAt = new Date().toISOString();
        }
        shadowError = undefined;
        shadowResult = { ok: true, version: nextShadow.version };
      } catch (error) {
        // Keep the last good shadow engine too.
        shadowError = loadError(error);
        logger?.warn({ file: shadowError.file, err: shadowError.message }, 'shadow policy reload failed');
        shadowResult = { ok: false, error: shadowError };
      }
    }
    rebuild();
    return {
      ok: true,
      version: enforced.version,
      changed,
      ...(shadowResult !== undefined ? { shadow: shadowResult } : {}),
    };
  };

  // Serialise reloads; a change that arrives during a reload triggers exactly one more.
  let running: Promise<ReloadResult> | undefined;
  let again = false;
  const reload = (): Promise<ReloadResult> => {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      let result: ReloadResult;
      do {
        again = false;
        result = await loadOnce();
        try {
          options.onReload?.(result);
        } catch {
          // A listener's failure does not undo or block the swap.
        }
      } while (again);
      running = undefined;
      return result;
    })();
    return running;
  };

  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  if (options.watch) {
    const watched = new Set([...files, ...shadowFiles]);
    const names = new Set([...watched].map((f) => path.basename(f)));
    const debounceMs = options.debounceMs ?? 100;
    const settleMs = options.settleMs ?? 2000;
    // Set by an in-place write since the last reload: then the files must settle before they are read.
    let written = false;
    const fire = (): void => {
      timer = undefined;
      if (closed) return;
      if (written) {
        const wait = settleRemaining([...watched], settleMs);
        if (wait > 0) {
          timer = setTimeout(fire, wait);
          timer.unref();
          return;
        }
      }
      written = false;
      void reload();
    };
    const schedule = (event: string): void => {
      if (closed) return;
      if (event === 'change') written = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(fire, written ? settleMs : debounceMs);
      timer.unref();
    };
    for (const dir of new Set([...watched].map((f) => path.dirname(f)))) {
      try {
        const watcher = watch(dir, (event, filename) => {
          // Some platforms do not say which file changed: treat it as an in-place write, to be safe.
          if (filename === null) schedule('change');
          else if (names.has(path.basename(filename.toString()))) schedule(event);
        });
        watcher.on('error', (error) => logger?.warn({ dir, err: error.message }, 'policy watch failed'));
        watchers.push(watcher);
      } catch (error) {
        logger?.warn(
          { dir, err: error instanceof Error ? error.message : String(error) },
          'cannot watch policy folder; reload on demand only',
        );
      }
    }
  }

  return {
    current: () => active,
    status(): PolicyStatus {
      return {
        version: enforced.version,
        loadedAt,
        ruleCount: enforced.ruleCount,
        files,
        ...(lastError !== undefined ? { lastError } : {}),
        ...(shadowFiles.length > 0
          ? {
              shadow: {
                ...(shadow !== undefined ? { version: shadow.version } : {}),
                ...(shadowLoadedAt !== undefined ? { loadedAt: shadowLoadedAt } : {}),
                ...(shadowError !== undefined ? { lastError: shadowError } : {}),
              },
            }
          : {}),
      };
    },
    reload,
    async close(): Promise<void> {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
      watchers.length = 0;
      if (running !== undefined) await running.catch(() => undefined);
    },
  };
}
