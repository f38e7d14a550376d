/**
 * One rule, compiled: its matchers become small checks that run in a fixed, cheap-first order, each able
 * to say why it missed (for `explain`) without costing anything on the decision path.
 *
 * A rule matches when every check passes. Two checks have effect-dependent failure modes, both chosen to
 * fail closed:
 * - `http.paths` on a non-canonical path: misses for `allow`, matches for `deny` and `approve`.
 * - `when` that errors or yields a non-bool: misses for `allow`, matches for `deny` and `approve` (so a
 *   broken condition can never let a call through, and never silences a denial or an approval).
 */
import ipaddr from 'ipaddr.js';
import { addressMatches, addressOpened, viewAddress, type AddressView, type Cidr } from './address.js';
import type { AddressClass, CallFacts, Effect, EgressFacts, PrincipalFacts, TaskFacts } from './types.js';
import { compileCondition, toCelValue, type CelActivation, type CelVariable, type CompiledCondition } from './cel.js';
import { parseDuration } from './duration.js';
import { compileHostGlobs, compileNameGlob, compileNameGlobs, isGlob, matchNameGlob } from './glob.js';
import { compilePathPattern, isCanonicalPath, type CompiledPathPattern } from './path-pattern.js';
import type { EgressTrust, Rule } from './schema.js';
import { compileTimeWindow } from './time-window.js';

/** Per-call scratch shared by all rules: values computed at most once per decision. */
export interface CallContext {
  readonly facts: CallFacts;
  canonicalPath?: boolean;
  celBase?: CelActivation;
  celConverted?: Set<CelVariable>;
}

const EMPTY: Readonly<Record<string, never>> = Object.freeze({});
const MATCH: RuleOutcome = Object.freeze({ kind: 'match' });
const WHEN_MISS: RuleOutcome = Object.freeze({ kind: 'miss', check: 'when' });
const EPOCH = new Date(0);

export interface EgressContext {
  readonly facts: EgressFacts;
  /** The resolved address in all its spellings; absent before resolution or for something not an IP. */
  readonly view?: AddressView | undefined;
}

/** The context for one egress decision: the address is looked at once, not once per rule. */
export function egressContext(facts: EgressFacts): EgressContext {
  return { facts, view: facts.ip === undefined ? undefined : viewAddress(facts.ip, facts.addressClass) };
}

/** A check on the subject (principal + tool) only: usable for visibility. */
interface SubjectCheck {
  readonly name: string;
  test(
    principal: PrincipalFacts | undefined,
    toolName: string | undefined,
    connector: string | undefined,
    flags: readonly string[] | undefined,
  ): boolean;
  miss(principal: PrincipalFacts | undefined, toolName: string | undefined, connector: string | undefined): string;
}

interface CallCheck {
  readonly name: string;
  test(ctx: CallContext): boolean;
  miss(ctx: CallContext): string;
}

interface EgressCheck {
  readonly name: string;
  test(ctx: EgressContext): boolean;
  miss(ctx: EgressContext): string;
}

export type RuleOutcome = { kind: 'match' } | { kind: 'miss'; check: string } | { kind: 'error'; message: string };

export interface RateLimitSpec {
  calls: number;
  perSeconds: number;
}

export interface CompiledRule {
  readonly id: string;
  readonly effect: Effect;
  /** Declaration order across all documents (decides the order of ids in a decision). */
  readonly index: number;
  readonly description?: string;
  readonly file: string;
  readonly kind: 'call' | 'egress';
  readonly source: Rule;
  /** Tool names when the rule lists only exact names (for the index). */
  readonly exactTools?: readonly string[];
  /** Tool globs, for the index. */
  readonly toolGlobs?: readonly string[];
  readonly connectors?: readonly string[];
  /** Agent ids when the rule's principal names only exact agents (for the index). */
  readonly exactAgents?: readonly string[];
  /** Role names when the rule's principal names only exact roles (for the index). */
  readonly exactRoles?: readonly string[];
  readonly rateLimit?: RateLimitSpec;
  readonly approval?: { approvers: number; maxTtlSeconds?: number };
  readonly labelsRead?: readonly string[];
  /** True when nothing but principal and tool checks can stop it (visibility of deny rules). */
  readonly subjectOnly: boolean;
  readonly egressSpec?: { cidrs: readonly Cidr[]; classes: ReadonlySet<AddressClass> };
  subjectMatches(
    principal: PrincipalFacts | undefined,
    toolName: string | undefined,
    connector: string | undefined,
    flags: readonly string[] | undefined,
  ): boolean;
  /** Decide a call; `explain` adds the reason for a miss. */
  matchCall(ctx: CallContext): RuleOutcome;
  /** Decide an egress request, apart from the address-class requirement (see `addressAllowed`). */
  matchEgress(ctx: EgressContext): RuleOutcome;
  /**
   * For egress rules: the resolved address is public, or every non-public place it leads to is named by
   * the rule (one of its classes, or inside one of its CIDRs).
   */
  addressAllowed(ctx: EgressContext): boolean;
  missReason(ctx: CallContext, check: string): string;
  egressMissReason(ctx: EgressContext, check: string): string;
}

export interface RuleCompileProblem {
  path: string;
  message: string;
}

const failsClosedOpen = (effect: Effect): boolean => effect !== 'allow';

function list(values: readonly string[]): string {
  return values.length > 4 ? `[${values.slice(0, 4).join(', ')}, ...]` : `[${values.join(', ')}]`;
}

function subjectChecks(rule: Rule): SubjectCheck[] {
  const checks: SubjectCheck[] = [];
  if (rule.tools !== undefined) {
    const tools = rule.tools;
    const matches = compileNameGlobs(tools);
    checks.push({
      name: 'tools',
      test: (_p, tool) => tool !== undefined && matches(tool),
      miss: (_p, tool) =>
        tool === undefined ? 'the request is not part of a tool call' : `tool ${tool} is not in ${list(tools)}`,
    });
  }
  if (rule.connector !== undefined) {
    const connectors = typeof rule.connector === 'string' ? [rule.connector] : rule.connector;
    const set = new Set(connectors);
    checks.push({
      name: 'connector',
      test: (_p, _t, connector) => connector !== undefined && set.has(connector),
      miss: (_p, _t, connector) => `connector ${connector ?? '(none)'} is not in ${list(connectors)}`,
    });
  }
  if (rule.toolFlags !== undefined) {
    const wanted = compileNameGlobs(rule.toolFlags);
    const flagList = rule.toolFlags;
    checks.push({
      name: 'toolFlags',
      test: (_p, _t, _c, flags) => flags !== undefined && flags.some(wanted),
      miss: () => `the tool carries none of the flags ${list(flagList)}`,
    });
  }
  const p = rule.principal;
  if (p !== undefined) {
    const field = (
      name: string,
      patterns: readonly string[] | undefined,
      get: (principal: PrincipalFacts) => readonly string[] | string | undefined,
    ): void => {
      if (patterns === undefined) return;
      const matches = compileNameGlobs(patterns);
      checks.push({
        name: `principal.${name}`,
        test: (principal) => {
          if (principal === undefined) return false;
          const value = get(principal);
          if (value === undefined) return false;
          return typeof value === 'string' ? matches(value) : value.some(matches);
        },
        miss: (principal) => {
          if (principal === undefined) return 'no principal';
          const value = get(principal);
          const shown = value === undefined ? '(none)' : typeof value === 'string' ? value : list(value);
          return `principal ${name} ${shown} does not match ${list(patterns)}`;
        },
      });
    };
    field('agent', p.agents, (x) => x.agentId);
    field('roles', p.roles, (x) => x.roles);
    field('tenant', p.tenants, (x) => x.tenant);
    field('environment', p.environments, (x) => x.environment);
    field('authMethod', p.authMethods, (x) => x.authMethod);
  }
  return checks;
}

function taskChecks(rule: Rule): {
  name: string;
  test(task: TaskFacts | undefined, tool: string | undefined): boolean;
  miss(task: TaskFacts | undefined, tool: string | undefined): string;
}[] {
  const checks = [];
  const t = rule.task;
  if (t?.intent !== undefined) {
    const pattern = t.intent;
    const matches = compileNameGlob(pattern, { caseInsensitive: true });
    checks.push({
      name: 'task.intent',
      test: (task: TaskFacts | undefined) => task?.intent !== undefined && matches(task.intent),
      miss: (task: TaskFacts | undefined) =>
        task?.intent === undefined ? 'the task has no declared intent' : `task intent does not match "${pattern}"`,
    });
  }
  if (t?.declaredOnly === true) {
    checks.push({
      name: 'task.declaredOnly',
      test: (task: TaskFacts | undefined, tool: string | undefined) =>
        tool !== undefined &&
        task?.declaredTools !== undefined &&
        task.declaredTools.some((d) => matchNameGlob(d, tool)),
      miss: (task: TaskFacts | undefined, tool: string | undefined) =>
        task?.declaredTools === undefined
          ? 'the task declared no tools'
          : `the task did not declare ${tool ?? 'this tool'}`,
    });
  }
  return checks;
}

function trustChecker(trust: EgressTrust | undefined): {
  trustedHost(host: string): boolean;
  trustedTool(tool: string): boolean;
} {
  if (trust === undefined) return { trustedHost: () => false, trustedTool: () => false };
  const trusted = compileHostGlobs(trust.trusted);
  const untrusted = compileHostGlobs(trust.untrusted);
  const tools = compileNameGlobs(trust.trustedTools);
  return {
    trustedHost: (host) => trust.trusted.length > 0 && trusted(host) && !untrusted(host),
    trustedTool: (tool) => trust.trustedTools.length > 0 && tools(tool),
  };
}

/**
 * Compile one validated rule. `documentTrust` is the egressTrust of the rule's document (used by `flow`
 * unless the rule has its own). Throws nothing: problems are returned with the path inside the rule.
 */
export function compileRule(
  rule: Rule,
  index: number,
  file: string,
  documentTrust: EgressTrust | undefined,
): { rule: CompiledRule } | { problems: RuleCompileProblem[] } {
  const problems: RuleCompileProblem[] = [];
  const kind = rule.egress !== undefined ? 'egress' : 'call';
  const failClosed = failsClosedOpen(rule.effect);
  const subject = subjectChecks(rule);
  const tasks = taskChecks(rule);
  const callChecks: CallCheck[] = [];

  for (const check of subject) {
    callChecks.push({
      name: check.name,
      test: (ctx) =>
        check.test(ctx.facts.principal, ctx.facts.tool.name, ctx.facts.tool.connector, ctx.facts.tool.flags),
      miss: (ctx) => check.miss(ctx.facts.principal, ctx.facts.tool.name, ctx.facts.tool.connector),
    });
  }
  for (const check of tasks) {
    callChecks.push({
      name: check.name,
      test: (ctx) => check.test(ctx.facts.task, ctx.facts.tool.name),
      miss: (ctx) => check.miss(ctx.facts.task, ctx.facts.tool.name),
    });
  }

  let paths: CompiledPathPattern[] | undefined;
  if (rule.http !== undefined) {
    const { methods, paths: pathSources } = rule.http;
    callChecks.push({
      name: 'http',
      test: (ctx) => ctx.facts.http !== undefined,
      miss: () => 'the call is not an HTTP request',
    });
    if (methods !== undefined) {
      const upper = new Set(methods.map((m) => m.toUpperCase()));
      callChecks.push({
        name: 'http.methods',
        test: (ctx) => upper.has(ctx.facts.http!.method.toUpperCase()),
        miss: (ctx) => `method ${ctx.facts.http!.method} is not in ${list([...upper])}`,
      });
    }
    if (pathSources !== undefined) {
      paths = pathSources.map(compilePathPattern);
      const compiled = paths;
      callChecks.push({
        name: 'http.paths',
        test: (ctx) => {
          const path = ctx.facts.http!.path;
          ctx.canonicalPath ??= isCanonicalPath(path);
          if (!ctx.canonicalPath) return failClosed;
          return compiled.some((p) => p.test(path));
        },
        miss: (ctx) =>
          ctx.canonicalPath === false
            ? 'the path is not canonical (never matches an allow rule)'
            : `path ${ctx.facts.http!.path} matches none of ${list(pathSources)}`,
      });
    }
  }

  if (rule.time !== undefined) {
    const window = compileTimeWindow({
      ...(rule.time.days ? { days: rule.time.days } : {}),
      ...(rule.time.between ? { between: rule.time.between } : {}),
      tz: rule.time.tz,
    });
    callChecks.push({
      name: 'time',
      test: (ctx) => window.test(ctx.facts.now),
      miss: () => `outside the time window ${window.describe()}`,
    });
  }

  if (rule.flow !== undefined) {
    const labels = new Set(rule.flow.labels);
    const trust = trustChecker(rule.egressTrust ?? documentTrust);
    const labelList = rule.flow.labels;
    callChecks.push({
      name: 'flow.labels',
      test: (ctx) => ctx.facts.task?.labelsRead?.some((l) => labels.has(l)) === true,
      miss: () => `the task has read no data labelled ${list(labelList)}`,
    });
    callChecks.push({
      name: 'flow.to',
      test: (ctx) => {
        const http = ctx.facts.http;
        if (http !== undefined) return !trust.trustedHost(http.host);
        return !trust.trustedTool(ctx.facts.tool.name);
      },
      miss: (ctx) =>
        ctx.facts.http !== undefined
          ? `destination ${ctx.facts.http.host} is trusted`
          : `tool ${ctx.facts.tool.name} is trusted`,
    });
  }

  let condition: CompiledCondition | undefined;
  if (rule.when !== undefined) {
    try {
      condition = compileCondition(rule.when);
    } catch (error) {
      problems.push({ path: 'when', message: error instanceof Error ? error.message : String(error) });
    }
  }

  // Egress checks: the subject checks (principal may be absent), the task checks, then the destination.
  const egressChecks: EgressCheck[] = [];
  let cidrs: Cidr[] = [];
  let classes: ReadonlySet<AddressClass> = new Set();
  if (rule.egress !== undefined) {
    for (const check of subject) {
      egressChecks.push({
        name: check.name,
        test: (ctx) => check.test(ctx.facts.principal, ctx.facts.tool, ctx.facts.connector, undefined),
        miss: (ctx) => check.miss(ctx.facts.principal, ctx.facts.tool, ctx.facts.connector),
      });
    }
    for (const check of tasks) {
      egressChecks.push({
        name: check.name,
        test: (ctx) => check.test(ctx.facts.task, ctx.facts.tool),
        miss: (ctx) => check.miss(ctx.facts.task, ctx.facts.tool),
      });
    }
    const { hosts, ports, schemes } = rule.egress;
    if (schemes !== undefined) {
      const set = new Set<string>(schemes);
      egressChecks.push({
        name: 'egress.schemes',
        test: (ctx) => set.has(ctx.facts.scheme.toLowerCase()),
        miss: (ctx) => `scheme ${ctx.facts.scheme} is not in ${list(schemes)}`,
      });
    }
    if (ports !== undefined) {
      const set = new Set(ports);
      egressChecks.push({
        name: 'egress.ports',
        test: (ctx) => set.has(ctx.facts.port),
        miss: (ctx) => `port ${ctx.facts.port} is not in ${list(ports.map(String))}`,
      });
    }
    if (hosts !== undefined) {
      const matches = compileHostGlobs(hosts);
      egressChecks.push({
        name: 'egress.hosts',
        test: (ctx) => matches(ctx.facts.host),
        miss: (ctx) => `host ${ctx.facts.host} matches none of ${list(hosts)}`,
      });
    }
    cidrs = (rule.egress.cidrs ?? []).map((c) => ipaddr.parseCIDR(c));
    classes = new Set(rule.egress.classes ?? []);
    const names = [...(rule.egress.cidrs ?? []), ...(rule.egress.classes ?? [])];
    if (names.length > 0 && (hosts === undefined || rule.effect === 'deny')) {
      // An address-only rule, and a deny rule with CIDRs or classes, match by address: the request must
      // have resolved to one of them, in any spelling (IPv4-mapped, NAT64, 6to4, ...). On an allow rule
      // with hosts, CIDRs and classes are the non-public destinations it opens.
      egressChecks.push({
        name: 'egress.addresses',
        test: (ctx) => ctx.view !== undefined && addressMatches(ctx.view, cidrs, classes),
        miss: (ctx) =>
          ctx.facts.ip === undefined
            ? 'no resolved address yet'
            : `address ${ctx.facts.ip} is in none of ${list(names)}`,
      });
    }
  }

  if (problems.length > 0) return { problems };

  const exactTools = rule.tools !== undefined && !rule.tools.some(isGlob) ? rule.tools : undefined;
  const toolGlobs = rule.tools !== undefined && rule.tools.some(isGlob) ? rule.tools : undefined;
  const connectors =
    rule.connector === undefined ? undefined : typeof rule.connector === 'string' ? [rule.connector] : rule.connector;
  const exactAgents =
    rule.principal?.agents !== undefined && !rule.principal.agents.some(isGlob) ? rule.principal.agents : undefined;
  const exactRoles =
    rule.principal?.roles !== undefined && !rule.principal.roles.some(isGlob) ? rule.principal.roles : undefined;
  const subjectOnly =
    rule.task === undefined &&
    rule.http === undefined &&
    rule.time === undefined &&
    rule.when === undefined &&
    rule.flow === undefined;

  const celActivation = (ctx: CallContext): CelActivation => {
    // Converted once per call, each variable only when some condition mentions it.
    const base = (ctx.celBase ??= { args: EMPTY, principal: EMPTY, task: EMPTY, tool: EMPTY, http: EMPTY, now: EPOCH });
    const f = ctx.facts;
    const converted = (ctx.celConverted ??= new Set());
    for (const name of condition!.variables) {
      if (converted.has(name)) continue;
      converted.add(name);
      if (name === 'args') base.args = toCelValue(f.args);
      else if (name === 'principal') base.principal = toCelValue(f.principal);
      else if (name === 'task') base.task = toCelValue(f.task ?? {});
      else if (name === 'tool') base.tool = toCelValue(f.tool);
      else if (name === 'http') base.http = f.http === undefined ? {} : toCelValue({ ...f.http, params: {} });
      else base.now = new Date(f.now);
    }
    ctx.celBase = base;
    if (paths === undefined || ctx.facts.http === undefined || ctx.canonicalPath === false) return ctx.celBase;
    // Named segments of the pattern that matched this rule, as http.params.
    const path = ctx.facts.http.path;
    for (const p of paths) {
      const m = p.match(path);
      if (m !== undefined) return { ...ctx.celBase, http: { ...(ctx.celBase.http as object), params: m.params } };
    }
    return ctx.celBase;
  };

  // Outcomes are immutable: allocate them once, not per decision.
  const callMisses: RuleOutcome[] = callChecks.map((c) => ({ kind: 'miss', check: c.name }));
  const egressMisses: RuleOutcome[] = egressChecks.map((c) => ({ kind: 'miss', check: c.name }));

  const compiled: CompiledRule = {
    id: rule.id,
    effect: rule.effect,
    index,
    ...(rule.description !== undefined ? { description: rule.description } : {}),
    file,
    kind,
    source: rule,
    ...(exactTools !== undefined ? { exactTools } : {}),
    ...(toolGlobs !== undefined ? { toolGlobs } : {}),
    ...(connectors !== undefined ? { connectors } : {}),
    ...(exactAgents !== undefined ? { exactAgents } : {}),
    ...(exactRoles !== undefined ? { exactRoles } : {}),
    ...(rule.rateLimit !== undefined
      ? { rateLimit: { calls: rule.rateLimit.calls, perSeconds: parseDuration(rule.rateLimit.per)! } }
      : {}),
    ...(rule.effect === 'approve'
      ? {
          approval: {
            approvers: rule.approval?.approvers ?? 1,
            ...(rule.approval?.maxTtl !== undefined ? { maxTtlSeconds: parseDuration(rule.approval.maxTtl)! } : {}),
          },
        }
      : {}),
    ...(rule.labels !== undefined ? { labelsRead: rule.labels.reads } : {}),
    subjectOnly,
    ...(kind === 'egress' ? { egressSpec: { cidrs, classes } } : {}),
    subjectMatches(principal, toolName, connector, flags) {
      for (const check of subject) if (!check.test(principal, toolName, connector, flags)) return false;
      return true;
    },
    matchCall(ctx) {
      for (let i = 0; i < callChecks.length; i++) if (!callChecks[i]!.test(ctx)) return callMisses[i]!;
      if (condition === undefined) return MATCH;
      let activation: CelActivation;
      try {
        activation = celActivation(ctx);
      } catch (error) {
        return { kind: 'error', message: error instanceof Error ? error.message : String(error) };
      }
      const result = condition.evaluate(activation);
      if (!result.ok) return { kind: 'error', message: result.error };
      return result.value ? MATCH : WHEN_MISS;
    },
    matchEgress(ctx) {
      for (let i = 0; i < egressChecks.length; i++) if (!egressChecks[i]!.test(ctx)) return egressMisses[i]!;
      return MATCH;
    },
    addressAllowed(ctx) {
      const cls = ctx.view?.addressClass ?? ctx.facts.addressClass;
      if (cls === undefined || cls === 'public') return true;
      // A class without an address (hand-written facts): only naming the class opens it.
      if (ctx.view === undefined) return classes.has(cls);
      return addressOpened(ctx.view, cidrs, classes);
    },
    missReason(ctx, name) {
      if (name === 'when') return `condition is false: ${rule.when ?? ''}`;
      return callChecks.find((c) => c.name === name)?.miss(ctx) ?? name;
    },
    egressMissReason(ctx, name) {
      return egressChecks.find((c) => c.name === name)?.miss(ctx) ?? name;
    },
  };
  return { rule: compiled };
}
