/**
 * The checks a compiled rule is made of, one small class per kind. Each check says whether the facts pass
 * it (`test`, the decision path) and, only when asked, why they did not (`miss`, for `explain`).
 *
 * A large policy holds tens of thousands of checks, which every full collection marks and a cold decision
 * reads, so a check is data: its fields, with its methods on the class's prototype. Nothing is allocated per
 * rule beyond the check objects and what their matchers need; a lone exact name is kept as the string itself,
 * and the outcome a missed check reports is one object shared by every check of that name.
 */
import { addressMatches, type AddressView, type Cidr } from './address.js';
import { isCanonicalPath, type CompiledPathPattern } from './path-pattern.js';
import type { CelActivation, CelVariable } from './cel.js';
import type { AddressClass, CallFacts, EgressFacts, PrincipalFacts, TaskFacts } from './types.js';
import {
  compileHostGlobs,
  compileNameGlob,
  compileNameGlobs,
  compileNameList,
  matchesNameList,
  matchNameGlob,
  type NameList,
  type NameMatcher,
} from './glob.js';
import type { EgressTrust } from './schema.js';
import type { CompiledTimeWindow } from './time-window.js';

export type RuleOutcome = { kind: 'match' } | { kind: 'miss'; check: string } | { kind: 'error'; message: string };

/** Per-call scratch shared by all rules: values computed at most once per decision. */
export interface CallContext {
  readonly facts: CallFacts;
  canonicalPath?: boolean;
  celBase?: CelActivation;
  celConverted?: Set<CelVariable>;
}

export interface EgressContext {
  readonly facts: EgressFacts;
  /** The resolved address in all its spellings; absent before resolution or for something not an IP. */
  readonly view?: AddressView | undefined;
}

const MISSES = new Map<string, RuleOutcome>();

/** The outcome of missing the check named `check`: one frozen object per name (the names are a fixed set). */
function missOf(check: string): RuleOutcome {
  let outcome = MISSES.get(check);
  if (outcome === undefined) {
    outcome = Object.freeze({ kind: 'miss', check });
    MISSES.set(check, outcome);
  }
  return outcome;
}

function list(values: readonly string[]): string {
  return values.length > 4 ? `[${values.slice(0, 4).join(', ')}, ...]` : `[${values.join(', ')}]`;
}

/** Exact names (connectors, HTTP methods): one is the string itself, several a set. */
type ExactTest = string | ReadonlySet<string>;

function exactTest(names: readonly string[]): ExactTest {
  return names.length === 1 ? names[0]! : new Set(names);
}

function isIn(test: ExactTest, name: string): boolean {
  return typeof test === 'string' ? test === name : test.has(name);
}

/** A check on the subject (principal and tool) only: usable for visibility, calls and egress alike. */
export interface SubjectCheck {
  readonly name: string;
  readonly missed: RuleOutcome;
  test(
    principal: PrincipalFacts | undefined,
    toolName: string | undefined,
    connector: string | undefined,
    flags: readonly string[] | undefined,
  ): boolean;
  miss(principal: PrincipalFacts | undefined, toolName: string | undefined, connector: string | undefined): string;
}

/** A check on the task (calls and egress alike). */
export interface TaskCheck {
  readonly name: string;
  readonly missed: RuleOutcome;
  test(task: TaskFacts | undefined, toolName: string | undefined): boolean;
  miss(task: TaskFacts | undefined, toolName: string | undefined): string;
}

/** A check only a tool call has facts for (HTTP operation, time, data flow). */
export interface CallCheck {
  readonly name: string;
  readonly missed: RuleOutcome;
  test(ctx: CallContext): boolean;
  miss(ctx: CallContext): string;
}

/** A check on the destination of an outbound request. */
export interface EgressCheck {
  readonly name: string;
  readonly missed: RuleOutcome;
  test(ctx: EgressContext): boolean;
  miss(ctx: EgressContext): string;
}

export class ToolsCheck implements SubjectCheck {
  readonly name = 'tools';
  readonly missed = missOf('tools');
  private readonly match: NameList;

  constructor(private readonly patterns: readonly string[]) {
    this.match = compileNameList(patterns);
  }

  test(_principal: PrincipalFacts | undefined, toolName: string | undefined): boolean {
    return toolName !== undefined && matchesNameList(this.match, toolName);
  }

  miss(_principal: PrincipalFacts | undefined, toolName: string | undefined): string {
    return toolName === undefined
      ? 'the request is not part of a tool call'
      : `tool ${toolName} is not in ${list(this.patterns)}`;
  }
}

export class ConnectorCheck implements SubjectCheck {
  readonly name = 'connector';
  readonly missed = missOf('connector');
  private readonly match: ExactTest;

  constructor(private readonly connectors: readonly string[]) {
    this.match = exactTest(connectors);
  }

  test(_principal: PrincipalFacts | undefined, _tool: string | undefined, connector: string | undefined): boolean {
    return connector !== undefined && isIn(this.match, connector);
  }

  miss(_principal: PrincipalFacts | undefined, _tool: string | undefined, connector: string | undefined): string {
    return `connector ${connector ?? '(none)'} is not in ${list(this.connectors)}`;
  }
}

export class ToolFlagsCheck implements SubjectCheck {
  readonly name = 'toolFlags';
  readonly missed = missOf('toolFlags');
  private readonly match: NameMatcher;

  constructor(private readonly flags: readonly string[]) {
    this.match = compileNameGlobs(flags);
  }

  test(
    _principal: PrincipalFacts | undefined,
    _tool: string | undefined,
    _connector: string | undefined,
    flags: readonly string[] | undefined,
  ): boolean {
    return flags !== undefined && flags.some(this.match);
  }

  miss(): string {
    return `the tool carries none of the flags ${list(this.flags)}`;
  }
}

/** A field of the principal a rule can name, with how it is read. */
export interface PrincipalField {
  /** The check's name is `principal.<name>`. */
  readonly name: string;
  readonly read: (principal: PrincipalFacts) => readonly string[] | string | undefined;
}

export const PRINCIPAL_FIELDS = {
  agents: { name: 'agent', read: (p) => p.agentId },
  roles: { name: 'roles', read: (p) => p.roles },
  tenants: { name: 'tenant', read: (p) => p.tenant },
  environments: { name: 'environment', read: (p) => p.environment },
  authMethods: { name: 'authMethod', read: (p) => p.authMethod },
} as const satisfies Record<string, PrincipalField>;

export class PrincipalCheck implements SubjectCheck {
  readonly name: string;
  readonly missed: RuleOutcome;
  private readonly match: NameList;

  constructor(
    private readonly field: PrincipalField,
    private readonly patterns: readonly string[],
  ) {
    this.name = `principal.${field.name}`;
    this.missed = missOf(this.name);
    this.match = compileNameList(patterns);
  }

  test(principal: PrincipalFacts | undefined): boolean {
    if (principal === undefined) return false;
    const value = this.field.read(principal);
    if (value === undefined) return false;
    if (typeof value === 'string') return matchesNameList(this.match, value);
    for (const item of value) if (matchesNameList(this.match, item)) return true;
    return false;
  }

  miss(principal: PrincipalFacts | undefined): string {
    if (principal === undefined) return 'no principal';
    const value = this.field.read(principal);
    const shown = value === undefined ? '(none)' : typeof value === 'string' ? value : list(value);
    return `principal ${this.field.name} ${shown} does not match ${list(this.patterns)}`;
  }
}

export class TaskIntentCheck implements TaskCheck {
  readonly name = 'task.intent';
  readonly missed = missOf('task.intent');
  private readonly match: NameMatcher;

  constructor(private readonly pattern: string) {
    this.match = compileNameGlob(pattern, { caseInsensitive: true });
  }

  test(task: TaskFacts | undefined): boolean {
    return task?.intent !== undefined && this.match(task.intent);
  }

  miss(task: TaskFacts | undefined): string {
    return task?.intent === undefined
      ? 'the task has no declared intent'
      : `task intent does not match "${this.pattern}"`;
  }
}

export class DeclaredOnlyCheck implements TaskCheck {
  readonly name = 'task.declaredOnly';
  readonly missed = missOf('task.declaredOnly');

  test(task: TaskFacts | undefined, toolName: string | undefined): boolean {
    return (
      toolName !== undefined &&
      task?.declaredTools !== undefined &&
      task.declaredTools.some((declared) => matchNameGlob(declared, toolName))
    );
  }

  miss(task: TaskFacts | undefined, toolName: string | undefined): string {
    return task?.declaredTools === undefined
      ? 'the task declared no tools'
      : `the task did not declare ${toolName ?? 'this tool'}`;
  }
}

export class HttpCheck implements CallCheck {
  readonly name = 'http';
  readonly missed = missOf('http');

  test(ctx: CallContext): boolean {
    return ctx.facts.http !== undefined;
  }

  miss(): string {
    return 'the call is not an HTTP request';
  }
}

/** After `HttpCheck`: the call has HTTP facts. */
export class HttpMethodsCheck implements CallCheck {
  readonly name = 'http.methods';
  readonly missed = missOf('http.methods');
  /** Upper case, each once. */
  private readonly methods: readonly string[];
  private readonly match: ExactTest;

  constructor(methods: readonly string[]) {
    this.methods = [...new Set(methods.map((m) => m.toUpperCase()))];
    this.match = exactTest(this.methods);
  }

  test(ctx: CallContext): boolean {
    return isIn(this.match, ctx.facts.http!.method.toUpperCase());
  }

  miss(ctx: CallContext): string {
    return `method ${ctx.facts.http!.method} is not in ${list(this.methods)}`;
  }
}

/**
 * After `HttpCheck`. A path that is not canonical fails closed: it misses for `allow` and matches for
 * `deny` and `approve` (`matchesNonCanonical`).
 */
export class HttpPathsCheck implements CallCheck {
  readonly name = 'http.paths';
  readonly missed = missOf('http.paths');

  constructor(
    private readonly sources: readonly string[],
    readonly patterns: readonly CompiledPathPattern[],
    private readonly matchesNonCanonical: boolean,
  ) {}

  test(ctx: CallContext): boolean {
    const path = ctx.facts.http!.path;
    ctx.canonicalPath ??= isCanonicalPath(path);
    if (!ctx.canonicalPath) return this.matchesNonCanonical;
    for (const pattern of this.patterns) if (pattern.test(path)) return true;
    return false;
  }

  miss(ctx: CallContext): string {
    return ctx.canonicalPath === false
      ? 'the path is not canonical (never matches an allow rule)'
      : `path ${ctx.facts.http!.path} matches none of ${list(this.sources)}`;
  }
}

export class TimeCheck implements CallCheck {
  readonly name = 'time';
  readonly missed = missOf('time');

  constructor(private readonly window: CompiledTimeWindow) {}

  test(ctx: CallContext): boolean {
    return this.window.test(ctx.facts.now);
  }

  miss(): string {
    return `outside the time window ${this.window.describe()}`;
  }
}

export class FlowLabelsCheck implements CallCheck {
  readonly name = 'flow.labels';
  readonly missed = missOf('flow.labels');
  private readonly set: ReadonlySet<string>;

  constructor(private readonly labels: readonly string[]) {
    this.set = new Set(labels);
  }

  test(ctx: CallContext): boolean {
    return ctx.facts.task?.labelsRead?.some((label) => this.set.has(label)) === true;
  }

  miss(): string {
    return `the task has read no data labelled ${list(this.labels)}`;
  }
}

/** The destination of a flow rule is not trusted: an HTTP call's host, else the tool. */
export class FlowToCheck implements CallCheck {
  readonly name = 'flow.to';
  readonly missed = missOf('flow.to');
  private readonly trustedHosts: NameMatcher | undefined;
  private readonly untrustedHosts: NameMatcher | undefined;
  private readonly trustedTools: NameMatcher | undefined;

  constructor(trust: EgressTrust | undefined) {
    if (trust !== undefined && trust.trusted.length > 0) {
      this.trustedHosts = compileHostGlobs(trust.trusted);
      this.untrustedHosts = compileHostGlobs(trust.untrusted);
    }
    if (trust !== undefined && trust.trustedTools.length > 0) this.trustedTools = compileNameGlobs(trust.trustedTools);
  }

  test(ctx: CallContext): boolean {
    const http = ctx.facts.http;
    if (http !== undefined) return !this.trustedHost(http.host);
    return !(this.trustedTools?.(ctx.facts.tool.name) ?? false);
  }

  miss(ctx: CallContext): string {
    return ctx.facts.http !== undefined
      ? `destination ${ctx.facts.http.host} is trusted`
      : `tool ${ctx.facts.tool.name} is trusted`;
  }

  private trustedHost(host: string): boolean {
    return this.trustedHosts !== undefined && this.trustedHosts(host) && !this.untrustedHosts!(host);
  }
}

export class SchemesCheck implements EgressCheck {
  readonly name = 'egress.schemes';
  readonly missed = missOf('egress.schemes');
  private readonly set: ReadonlySet<string>;

  constructor(private readonly schemes: readonly string[]) {
    this.set = new Set(schemes);
  }

  test(ctx: EgressContext): boolean {
    return this.set.has(ctx.facts.scheme.toLowerCase());
  }

  miss(ctx: EgressContext): string {
    return `scheme ${ctx.facts.scheme} is not in ${list(this.schemes)}`;
  }
}

export class PortsCheck implements EgressCheck {
  readonly name = 'egress.ports';
  readonly missed = missOf('egress.ports');
  private readonly set: ReadonlySet<number>;

  constructor(private readonly ports: readonly number[]) {
    this.set = new Set(ports);
  }

  test(ctx: EgressContext): boolean {
    return this.set.has(ctx.facts.port);
  }

  miss(ctx: EgressContext): string {
    return `port ${ctx.facts.port} is not in ${list(this.ports.map(String))}`;
  }
}

export class HostsCheck implements EgressCheck {
  readonly name = 'egress.hosts';
  readonly missed = missOf('egress.hosts');
  private readonly match: NameMatcher;

  constructor(private readonly hosts: readonly string[]) {
    this.match = compileHostGlobs(hosts);
  }

  test(ctx: EgressContext): boolean {
    return this.match(ctx.facts.host);
  }

  miss(ctx: EgressContext): string {
    return `host ${ctx.facts.host} matches none of ${list(this.hosts)}`;
  }
}

/** The request resolved to one of the rule's CIDRs or address classes, in any spelling. */
export class AddressesCheck implements EgressCheck {
  readonly name = 'egress.addresses';
  readonly missed = missOf('egress.addresses');

  constructor(
    private readonly cidrs: readonly Cidr[],
    private readonly classes: ReadonlySet<AddressClass>,
    private readonly names: readonly string[],
  ) {}

  test(ctx: EgressContext): boolean {
    return ctx.view !== undefined && addressMatches(ctx.view, this.cidrs, this.classes);
  }

  miss(ctx: EgressContext): string {
    return ctx.facts.ip === undefined
      ? 'no resolved address yet'
      : `address ${ctx.facts.ip} is in none of ${list(this.names)}`;
  }
}
