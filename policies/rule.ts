/**
 * One rule, compiled: its matchers become small checks (`rule-checks.ts`) that run in a fixed, cheap-first
 * order, each able to say why it missed (for `explain`) without costing anything on the decision path. A
 * compiled rule is one object of fields, its methods on the class's prototype, so a policy of tens of
 * thousands of rules holds no closures per rule.
 *
 * A rule matches when every check passes. Two checks have effect-dependent failure modes, both chosen to
 * fail closed:
 * - `http.paths` on a non-canonical path: misses for `allow`, matches for `deny` and `approve`.
 * - `when` that errors or yields a non-bool: misses for `allow`, matches for `deny` and `approve` (so a
 *   broken condition can never let a call through, and never silences a denial or an approval).
 */
import ipaddr from 'ipaddr.js';
import { addressOpened, viewAddress, type Cidr } from './address.js';
import type { AddressClass, Effect, EgressFacts, PrincipalFacts } from './types.js';
import { compileCondition, toCelValue, type CelActivation, type CompiledCondition } from './cel.js';
import { parseDuration } from './duration.js';
import { isGlob } from './glob.js';
import { compilePathPattern } from './path-pattern.js';
import {
  AddressesCheck,
  ConnectorCheck,
  DeclaredOnlyCheck,
  FlowLabelsCheck,
  FlowToCheck,
  HostsCheck,
  HttpCheck,
  HttpMethodsCheck,
  HttpPathsCheck,
  PortsCheck,
  PRINCIPAL_FIELDS,
  PrincipalCheck,
  SchemesCheck,
  TaskIntentCheck,
  TimeCheck,
  ToolFlagsCheck,
  ToolsCheck,
  type CallCheck,
  type CallContext,
  type EgressCheck,
  type EgressContext,
  type RuleOutcome,
  type SubjectCheck,
  type TaskCheck,
} from './rule-checks.js';
import type { EgressTrust, Rule } from './schema.js';
import { compileTimeWindow } from './time-window.js';

export type { CallContext, EgressContext, RuleOutcome } from './rule-checks.js';

const EMPTY: Readonly<Record<string, never>> = Object.freeze({});
const MATCH: RuleOutcome = Object.freeze({ kind: 'match' });
const WHEN_MISS: RuleOutcome = Object.freeze({ kind: 'miss', check: 'when' });
const EPOCH = new Date(0);
/** What a rule does not have, shared by every rule that does not have it. */
const NO_CHECKS: readonly never[] = Object.freeze([]);
const NO_CIDRS: readonly Cidr[] = NO_CHECKS;
const NO_CLASSES: ReadonlySet<AddressClass> = new Set();

/** The context for one egress decision: the address is looked at once, not once per rule. */
export function egressContext(facts: EgressFacts): EgressContext {
  return { facts, view: facts.ip === undefined ? undefined : viewAddress(facts.ip, facts.addressClass) };
}

export interface RateLimitSpec {
  calls: number;
  perSeconds: number;
}

export interface RuleCompileProblem {
  path: string;
  message: string;
}

/** What `compileRule` works out for a rule before it becomes a `CompiledRule`. */
interface RuleParts {
  readonly subject: readonly SubjectCheck[];
  readonly task: readonly TaskCheck[];
  readonly call: readonly CallCheck[];
  readonly destination: readonly EgressCheck[];
  readonly paths: HttpPathsCheck | undefined;
  readonly condition: CompiledCondition | undefined;
  readonly cidrs: readonly Cidr[];
  readonly classes: ReadonlySet<AddressClass>;
}

export class CompiledRule {
  readonly id: string;
  readonly effect: Effect;
  readonly description: string | undefined;
  readonly kind: 'call' | 'egress';
  /** Tool names when the rule lists only exact names (for the index). */
  readonly exactTools: readonly string[] | undefined;
  /** Tool globs, for the index. */
  readonly toolGlobs: readonly string[] | undefined;
  readonly connectors: readonly string[] | undefined;
  /** Agent ids when the rule's principal names only exact agents (for the index). */
  readonly exactAgents: readonly string[] | undefined;
  /** Role names when the rule's principal names only exact roles (for the index). */
  readonly exactRoles: readonly string[] | undefined;
  readonly rateLimit: RateLimitSpec | undefined;
  readonly approval: { approvers: number; maxTtlSeconds?: number } | undefined;
  readonly labelsRead: readonly string[] | undefined;
  /** True when nothing but principal and tool checks can stop it (visibility of deny rules). */
  readonly subjectOnly: boolean;
  private readonly subject: readonly SubjectCheck[];
  private readonly task: readonly TaskCheck[];
  private readonly call: readonly CallCheck[];
  /** Egress rules only: the checks on the destination (call rules have no egress checks at all). */
  private readonly destination: readonly EgressCheck[];
  private readonly paths: HttpPathsCheck | undefined;
  private readonly condition: CompiledCondition | undefined;
  private readonly cidrs: readonly Cidr[];
  private readonly classes: ReadonlySet<AddressClass>;

  constructor(
    readonly source: Rule,
    /** Declaration order across all documents (decides the order of ids in a decision). */
    readonly index: number,
    readonly file: string,
    parts: RuleParts,
  ) {
    const rule = source;
    this.id = rule.id;
    this.effect = rule.effect;
    this.description = rule.description;
    this.kind = rule.egress !== undefined ? 'egress' : 'call';
    const toolsHaveGlob = rule.tools?.some(isGlob) === true;
    this.exactTools = rule.tools !== undefined && !toolsHaveGlob ? rule.tools : undefined;
    this.toolGlobs = toolsHaveGlob ? rule.tools : undefined;
    this.connectors =
      rule.connector === undefined ? undefined : typeof rule.connector === 'string' ? [rule.connector] : rule.connector;
    this.exactAgents =
      rule.principal?.agents !== undefined && !rule.principal.agents.some(isGlob) ? rule.principal.agents : undefined;
    this.exactRoles =
      rule.principal?.roles !== undefined && !rule.principal.roles.some(isGlob) ? rule.principal.roles : undefined;
    this.rateLimit =
      rule.rateLimit !== undefined
        ? { calls: rule.rateLimit.calls, perSeconds: parseDuration(rule.rateLimit.per)! }
        : undefined;
    this.approval =
      rule.effect === 'approve'
        ? {
            approvers: rule.approval?.approvers ?? 1,
            ...(rule.approval?.maxTtl !== undefined ? { maxTtlSeconds: parseDuration(rule.approval.maxTtl)! } : {}),
          }
        : undefined;
    this.labelsRead = rule.labels?.reads;
    this.subjectOnly =
      rule.task === undefined &&
      rule.http === undefined &&
      rule.time === undefined &&
      rule.when === undefined &&
      rule.flow === undefined;
    this.subject = parts.subject;
    this.task = parts.task;
    this.call = parts.call;
    this.destination = parts.destination;
    this.paths = parts.paths;
    this.condition = parts.condition;
    this.cidrs = parts.cidrs;
    this.classes = parts.classes;
  }

  subjectMatches(
    principal: PrincipalFacts | undefined,
    toolName: string | undefined,
    connector: string | undefined,
    flags: readonly string[] | undefined,
  ): boolean {
    for (const check of this.subject) if (!check.test(principal, toolName, connector, flags)) return false;
    return true;
  }

  /** Decide a call. */
  matchCall(ctx: CallContext): RuleOutcome {
    const f = ctx.facts;
    const tool = f.tool;
    for (const check of this.subject) {
      if (!check.test(f.principal, tool.name, tool.connector, tool.flags)) return check.missed;
    }
    for (const check of this.task) if (!check.test(f.task, tool.name)) return check.missed;
    for (const check of this.call) if (!check.test(ctx)) return check.missed;
    const condition = this.condition;
    if (condition === undefined) return MATCH;
    let activation: CelActivation;
    try {
      activation = this.celActivation(ctx, condition);
    } catch (error) {
      return { kind: 'error', message: error instanceof Error ? error.message : String(error) };
    }
    const result = condition.evaluate(activation);
    if (!result.ok) return { kind: 'error', message: result.error };
    return result.value ? MATCH : WHEN_MISS;
  }

  /** Decide an egress request, apart from the address-class requirement (see `addressAllowed`). */
  matchEgress(ctx: EgressContext): RuleOutcome {
    if (this.kind !== 'egress') return MATCH;
    const f = ctx.facts;
    for (const check of this.subject) if (!check.test(f.principal, f.tool, f.connector, undefined)) return check.missed;
    for (const check of this.task) if (!check.test(f.task, f.tool)) return check.missed;
    for (const check of this.destination) if (!check.test(ctx)) return check.missed;
    return MATCH;
  }

  /**
   * For egress rules: the resolved address is public, or every non-public place it leads to is named by
   * the rule (one of its classes, or inside one of its CIDRs).
   */
  addressAllowed(ctx: EgressContext): boolean {
    const cls = ctx.view?.addressClass ?? ctx.facts.addressClass;
    if (cls === undefined || cls === 'public') return true;
    // A class without an address (hand-written facts): only naming the class opens it.
    if (ctx.view === undefined) return this.classes.has(cls);
    return addressOpened(ctx.view, this.cidrs, this.classes);
  }

  /** Why a call missed the check named `name` (for `explain`). */
  missReason(ctx: CallContext, name: string): string {
    if (name === 'when') return `condition is false: ${this.source.when ?? ''}`;
    const f = ctx.facts;
    const subject = this.subject.find((c) => c.name === name);
    if (subject !== undefined) return subject.miss(f.principal, f.tool.name, f.tool.connector);
    const task = this.task.find((c) => c.name === name);
    if (task !== undefined) return task.miss(f.task, f.tool.name);
    return this.call.find((c) => c.name === name)?.miss(ctx) ?? name;
  }

  /** Why an egress request missed the check named `name` (for `explain`). */
  egressMissReason(ctx: EgressContext, name: string): string {
    if (this.kind !== 'egress') return name;
    const f = ctx.facts;
    const subject = this.subject.find((c) => c.name === name);
    if (subject !== undefined) return subject.miss(f.principal, f.tool, f.connector);
    const task = this.task.find((c) => c.name === name);
    if (task !== undefined) return task.miss(f.task, f.tool);
    return this.destination.find((c) => c.name === name)?.miss(ctx) ?? name;
  }

  /** The condition's variables, converted once per call, each only when some condition mentions it. */
  private celActivation(ctx: CallContext, condition: CompiledCondition): CelActivation {
    const base = (ctx.celBase ??= { args: EMPTY, principal: EMPTY, task: EMPTY, tool: EMPTY, http: EMPTY, now: EPOCH });
    const f = ctx.facts;
    const converted = (ctx.celConverted ??= new Set());
    for (const name of condition.variables) {
      if (converted.has(name)) continue;
      converted.add(name);
      if (name === 'args') base.args = toCelValue(f.args);
      else if (name === 'principal') base.principal = toCelValue(f.principal);
      else if (name === 'task') base.task = toCelValue(f.task ?? {});
      else if (name === 'tool') base.tool = toCelValue(f.tool);
      else if (name === 'http') base.http = f.http === undefined ? {} : toCelValue({ ...f.http, params: {} });
      else base.now = new Date(f.now);
    }
    if (this.paths === undefined || f.http === undefined || ctx.canonicalPath === false) return base;
    // Named segments of the pattern that matched this rule, as http.params.
    const path = f.http.path;
    for (const p of this.paths.patterns) {
      const m = p.match(path);
      if (m !== undefined) return { ...base, http: { ...(base.http as object), params: m.params } };
    }
    return base;
  }
}

/**
 * Conditions compiled so far for one policy, by their source text: rules written from one template (per-agent
 * baselines, say) share one compiled condition, which evaluates the same for each.
 */
export type ConditionCache = Map<string, CompiledCondition>;

/**
 * Compile one validated rule. `documentTrust` is the egressTrust of the rule's document (used by `flow`
 * unless the rule has its own). Throws nothing: problems are returned with the path inside the rule.
 */
export function compileRule(
  rule: Rule,
  index: number,
  file: string,
  documentTrust: EgressTrust | undefined,
  conditions: ConditionCache = new Map(),
): { rule: CompiledRule } | { problems: RuleCompileProblem[] } {
  let condition: CompiledCondition | undefined;
  if (rule.when !== undefined) {
    try {
      condition = conditions.get(rule.when);
      if (condition === undefined) {
        condition = compileCondition(rule.when);
        conditions.set(rule.when, condition);
      }
    } catch (error) {
      return { problems: [{ path: 'when', message: error instanceof Error ? error.message : String(error) }] };
    }
  }
  const { checks: call, paths } = callChecks(rule, documentTrust);
  const egress = rule.egress;
  const cidrs = egress?.cidrs !== undefined ? egress.cidrs.map((c) => ipaddr.parseCIDR(c)) : NO_CIDRS;
  const classes = egress?.classes !== undefined ? new Set(egress.classes) : NO_CLASSES;
  return {
    rule: new CompiledRule(rule, index, file, {
      subject: orNone(subjectChecks(rule)),
      task: orNone(taskChecks(rule)),
      call: orNone(call),
      destination: egress === undefined ? NO_CHECKS : orNone(destinationChecks(rule, cidrs, classes)),
      paths,
      condition,
      cidrs,
      classes,
    }),
  };
}

/** The list as kept: exactly as long as it is (a list built by `push` keeps room for sixteen), or the shared empty one. */
function orNone<T>(checks: T[]): readonly T[] {
  return checks.length === 0 ? NO_CHECKS : checks.slice();
}

/** In order: tools, connector, tool flags, then the principal's fields. */
function subjectChecks(rule: Rule): SubjectCheck[] {
  const checks: SubjectCheck[] = [];
  if (rule.tools !== undefined) checks.push(new ToolsCheck(rule.tools));
  if (rule.connector !== undefined)
    checks.push(new ConnectorCheck(typeof rule.connector === 'string' ? [rule.connector] : rule.connector));
  if (rule.toolFlags !== undefined) checks.push(new ToolFlagsCheck(rule.toolFlags));
  const principal = rule.principal;
  if (principal !== undefined) {
    for (const key of ['agents', 'roles', 'tenants', 'environments', 'authMethods'] as const) {
      const patterns = principal[key];
      if (patterns !== undefined) checks.push(new PrincipalCheck(PRINCIPAL_FIELDS[key], patterns));
    }
  }
  return checks;
}

function taskChecks(rule: Rule): TaskCheck[] {
  const checks: TaskCheck[] = [];
  if (rule.task?.intent !== undefined) checks.push(new TaskIntentCheck(rule.task.intent));
  if (rule.task?.declaredOnly === true) checks.push(new DeclaredOnlyCheck());
  return checks;
}

/** In order: the HTTP operation, the time window, the data flow. */
function callChecks(
  rule: Rule,
  documentTrust: EgressTrust | undefined,
): { checks: CallCheck[]; paths: HttpPathsCheck | undefined } {
  const checks: CallCheck[] = [];
  let paths: HttpPathsCheck | undefined;
  if (rule.http !== undefined) {
    checks.push(new HttpCheck());
    if (rule.http.methods !== undefined) checks.push(new HttpMethodsCheck(rule.http.methods));
    if (rule.http.paths !== undefined) {
      paths = new HttpPathsCheck(rule.http.paths, rule.http.paths.map(compilePathPattern), rule.effect !== 'allow');
      checks.push(paths);
    }
  }
  if (rule.time !== undefined) {
    const window = compileTimeWindow({
      ...(rule.time.days ? { days: rule.time.days } : {}),
      ...(rule.time.between ? { between: rule.time.between } : {}),
      tz: rule.time.tz,
    });
    checks.push(new TimeCheck(window));
  }
  if (rule.flow !== undefined) {
    checks.push(new FlowLabelsCheck(rule.flow.labels));
    checks.push(new FlowToCheck(rule.egressTrust ?? documentTrust));
  }
  return { checks, paths };
}

/** In order: schemes, ports, hosts, then the addresses an address-only or deny rule is about. */
function destinationChecks(rule: Rule, cidrs: readonly Cidr[], classes: ReadonlySet<AddressClass>): EgressCheck[] {
  const { hosts, ports, schemes } = rule.egress!;
  const checks: EgressCheck[] = [];
  if (schemes !== undefined) checks.push(new SchemesCheck(schemes));
  if (ports !== undefined) checks.push(new PortsCheck(ports));
  if (hosts !== undefined) checks.push(new HostsCheck(hosts));
  const names = [...(rule.egress!.cidrs ?? []), ...(rule.egress!.classes ?? [])];
  if (names.length > 0 && (hosts === undefined || rule.effect === 'deny')) {
    // An address-only rule, and a deny rule with CIDRs or classes, match by address: the request must
    // have resolved to one of them, in any spelling (IPv4-mapped, NAT64, 6to4, ...). On an allow rule
    // with hosts, CIDRs and classes are the non-public destinations it opens.
    checks.push(new AddressesCheck(cidrs, classes, names));
  }
  return checks;
}
