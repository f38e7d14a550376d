/**
 * `compilePolicy`: validated documents in, a PolicyEngine out. Compile once, decide fast.
 *
 * Compilation checks what the schema cannot (unique rule ids across documents and generated rules, CEL
 * conditions), then indexes call rules so a decision looks only at rules that could match. The primary key
 * is what the rule's `tools` decide about a tool name:
 * - exact names, under each name;
 * - globs with a literal start (`github_*`, `svc_get_*`), under that literal prefix;
 * - globs starting with a wildcard but with a literal end (`*_delete`), under that literal suffix;
 * - rules with no tools, or a glob with neither (`*`, `*x*`): under each connector the rule names, else in
 *   one fallback list.
 * Within each key, rules naming only exact agents are kept per agent, else rules naming only exact roles
 * per role, else in a list for anyone. A lookup reads, for the tool name, the exact entry, one entry per
 * distinct prefix and suffix length, the connector's and the fallback, and in each of those the lists of
 * the caller's agent, of each of its roles and for anyone.
 *
 * The index only leaves out rules that cannot match (every name a glob matches starts with its prefix and
 * ends with its suffix; a rule naming exact agents or roles cannot match another principal), so a decision
 * is the one a scan of every rule would give: the same rules, in declaration order, the same errors. A
 * rule can sit under several keys of one lookup (a call with two roles, a tool list with overlapping
 * globs): a lookup merges what it found into one list per effect, each rule once, in declaration order.
 * Lookups are memoized per tool and principal (`lookup-memo.ts`), so a decision for a pair seen before
 * reads its rules from one entry.
 *
 * Decisions: deny > approve > allow; no matching allow => deny POLICY_DENIED with no rules (default deny).
 * Deny rules are evaluated first and, once one matches, the rest are skipped. Egress rules (rules with
 * `egress`) decide only outbound requests; call rules decide only tool calls.
 */
import type { CallFacts, Decision, EgressFacts, ItemFacts, PrincipalFacts, ToolFacts } from './types.js';
import { compileNameGlobs, isGlob } from './glob.js';
import { compileUriGlob } from './resource-uri.js';
import { PolicyCompileError, type PolicyProblem } from './errors.js';
import type { ParsedPolicy } from './parse.js';
import { classifyAddress } from './address.js';
import {
  compileRule,
  egressContext,
  type CallContext,
  type CompiledRule,
  type ConditionCache,
  type EgressContext,
  type RuleOutcome,
} from './rule.js';
import { RuleSchema, type Rule, type RuleInput } from './schema.js';
import { policyVersion } from './version.js';
import { LookupMemo, lookupKey } from './lookup-memo.js';
import { zodPolicyProblems } from './parse.js';

export interface RateLimitDirective {
  /** The rule that asks for the limit. */
  rule: string;
  calls: number;
  perSeconds: number;
  /** Counter key: one counter per rule, tenant, agent and tool. */
  key: string;
}

export interface RuleError {
  rule: string;
  message: string;
}

/** A call decision plus what the gateway must do with an allowed (or approved) call. */
export interface CallDecision extends Decision {
  /** Limits to count this call against (from the allow/approve rules that matched). */
  rateLimits?: readonly RateLimitDirective[];
  /** Data labels this call reads; add them to the task's `labelsRead` once the call succeeds. */
  labelsRead?: readonly string[];
  /** Conditions that could not be evaluated; each made its rule fail closed. */
  errors?: readonly RuleError[];
}

export interface RuleTrace {
  rule: string;
  effect: Decision['effect'];
  file: string;
  outcome: 'matched' | 'missed' | 'error' | 'not-applicable';
  reason: string;
}

export interface Explanation {
  decision: CallDecision;
  trace: RuleTrace[];
}

export interface PolicyEngine {
  /** Content hash of the loaded documents and generated rules. */
  readonly version: string;
  /** Number of rules compiled (call and egress). */
  readonly ruleCount: number;
  evaluate(call: CallFacts): CallDecision;
  evaluateEgress(facts: EgressFacts): Decision;
  /** Could some allow/approve rule match this tool for this principal (ignoring args, http, time, task, conditions)? */
  visible(principal: PrincipalFacts, tool: ToolFacts): boolean;
  /**
   * Decide a resource or prompt: rules with `resources` / `prompts` only, deny > approve > allow, default
   * deny.
   */
  evaluateItem(facts: ItemFacts): CallDecision;
  /**
   * Is this resource or prompt shown (listings, resource notifications)? Exactly when `evaluateItem` does
   * not deny it; kept apart because showing an item is not a decision on a request (shadow mode reports
   * decisions, not listings).
   */
  itemVisible(facts: ItemFacts): boolean;
  explain(call: CallFacts): Explanation;
  explainEgress(facts: EgressFacts): { decision: Decision; trace: RuleTrace[] };
}

export interface CompileOptions {
  /**
   * Rules generated by the gateway (baselines), compiled with the documents: plain objects in the shape of
   * a document rule (`RuleInput`), validated with the same schema.
   */
  extraRules?: readonly (RuleInput | object)[];
  /** Named in errors about generated rules. */
  extraRulesSource?: string;
}

interface Bucket {
  deny: CompiledRule[];
  approve: CompiledRule[];
  allow: CompiledRule[];
}

function newBucket(): Bucket {
  return { deny: [], approve: [], allow: [] };
}

/**
 * Rules under one index key: by exact agent, else by exact role, else for anyone. A rule naming exact
 * agents is filed only under them (its roles, if any, are checked when it is evaluated). The maps exist
 * only once some rule is filed in them: most keys of a large policy have one of the two, or neither.
 */
interface Slot {
  any: Bucket;
  byAgent?: Map<string, Bucket>;
  byRole?: Map<string, Bucket>;
}

function newSlot(): Slot {
  return { any: newBucket() };
}

function slotOf(map: Map<string, Slot>, key: string): Slot {
  let slot = map.get(key);
  if (slot === undefined) {
    slot = newSlot();
    map.set(key, slot);
  }
  return slot;
}

function addToBucket(bucket: Bucket, rule: CompiledRule): void {
  const list = bucket[rule.effect];
  if (!list.includes(rule)) list.push(rule);
}

function bucketOf(map: Map<string, Bucket>, key: string): Bucket {
  let bucket = map.get(key);
  if (bucket === undefined) {
    bucket = newBucket();
    map.set(key, bucket);
  }
  return bucket;
}

function addToSlot(slot: Slot, rule: CompiledRule): void {
  if (rule.exactAgents !== undefined) {
    for (const agent of rule.exactAgents) addToBucket(bucketOf((slot.byAgent ??= new Map()), agent), rule);
  } else if (rule.exactRoles !== undefined) {
    for (const role of rule.exactRoles) addToBucket(bucketOf((slot.byRole ??= new Map()), role), rule);
  } else addToBucket(slot.any, rule);
}

/**
 * Once every rule is filed: a list that grew by `push` keeps room for more than it holds (a list of one has
 * room for sixteen), and a large policy has tens of thousands of small lists; a copy holds no spare room.
 */
function compactSlot(slot: Slot): void {
  compactBucket(slot.any);
  for (const bucket of slot.byAgent?.values() ?? []) compactBucket(bucket);
  for (const bucket of slot.byRole?.values() ?? []) compactBucket(bucket);
}

function compactBucket(bucket: Bucket): void {
  if (bucket.deny.length > 0) bucket.deny = bucket.deny.slice();
  if (bucket.approve.length > 0) bucket.approve = bucket.approve.slice();
  if (bucket.allow.length > 0) bucket.allow = bucket.allow.slice();
}

function pushSlot(buckets: Bucket[], slot: Slot | undefined, principal: PrincipalFacts): void {
  if (slot === undefined) return;
  buckets.push(slot.any);
  if (slot.byAgent !== undefined) {
    const forAgent = slot.byAgent.get(principal.agentId);
    if (forAgent !== undefined) buckets.push(forAgent);
  }
  if (slot.byRole !== undefined) {
    for (const role of principal.roles) {
      const forRole = slot.byRole.get(role);
      if (forRole !== undefined) buckets.push(forRole);
    }
  }
}

/**
 * Rules keyed by a literal prefix (or suffix) of the tool name. A lookup walks the name once, from the
 * start (or the end), hashing as it goes, and at each length some key has it looks the hash up and checks
 * the key's text against the name: no substring is built and no map of strings is hashed per length.
 */
class AffixIndex {
  /** length -> hash -> entries (several when two keys of one length share a hash) */
  private readonly byLength = new Map<number, Map<number, { affix: string; slot: Slot }[]>>();
  /** hasLength[n] is 1 when some key is n characters long. */
  private hasLength = new Uint8Array(0);
  private maxLength = 0;

  constructor(private readonly side: 'prefix' | 'suffix') {}

  slot(affix: string): Slot {
    const length = affix.length;
    let byHash = this.byLength.get(length);
    if (byHash === undefined) {
      byHash = new Map();
      this.byLength.set(length, byHash);
      this.maxLength = Math.max(this.maxLength, length);
      const has = new Uint8Array(this.maxLength + 1);
      has.set(this.hasLength);
      has[length] = 1;
      this.hasLength = has;
    }
    const hash = this.hashOf(affix, length);
    let entries = byHash.get(hash);
    if (entries === undefined) {
      entries = [];
      byHash.set(hash, entries);
    }
    let entry = entries.find((e) => e.affix === affix);
    if (entry === undefined) {
      entry = { affix, slot: newSlot() };
      entries.push(entry);
    }
    return entry.slot;
  }

  lookup(buckets: Bucket[], name: string, principal: PrincipalFacts): void {
    const limit = Math.min(this.maxLength, name.length);
    const has = this.hasLength;
    const prefix = this.side === 'prefix';
    let hash = 0;
    for (let n = 1; n <= limit; n++) {
      hash = (Math.imul(hash, 31) + name.charCodeAt(prefix ? n - 1 : name.length - n)) | 0;
      if (has[n] !== 1) continue;
      const entries = this.byLength.get(n)!.get(hash);
      if (entries === undefined) continue;
      for (const entry of entries) {
        if (prefix ? name.startsWith(entry.affix) : name.endsWith(entry.affix))
          pushSlot(buckets, entry.slot, principal);
      }
    }
  }

  /** Every slot, in no particular order. */
  *slots(): Generator<Slot> {
    for (const byHash of this.byLength.values()) {
      for (const entries of byHash.values()) for (const entry of entries) yield entry.slot;
    }
  }

  /** The hash `lookup` computes after `length` characters of the affix (from its start, or its end). */
  private hashOf(affix: string, length: number): number {
    let hash = 0;
    for (let n = 1; n <= length; n++)
      hash = (Math.imul(hash, 31) + affix.charCodeAt(this.side === 'prefix' ? n - 1 : length - n)) | 0;
    return hash;
  }
}

/** The literal text before a glob's first wildcard and after its last. */
function globAffixes(glob: string): { prefix: string; suffix: string } {
  const first = glob.search(/[*?]/);
  if (first === -1) return { prefix: glob, suffix: glob };
  let last = glob.length - 1;
  while (last >= 0 && glob[last] !== '*' && glob[last] !== '?') last--;
  return { prefix: glob.slice(0, first), suffix: glob.slice(last + 1) };
}

function byIndex(a: CompiledRule, b: CompiledRule): number {
  return a.index - b.index;
}

function ruleList(rules: readonly CompiledRule[]): string {
  return rules.map((r) => r.id).join(', ');
}

/**
 * Compile documents (and generated rules) into an engine. Throws PolicyCompileError (POLICY_INVALID) with
 * every problem found, each naming its file and key path.
 */
export function compilePolicy(documents: readonly ParsedPolicy[], options: CompileOptions = {}): PolicyEngine {
  const problems: PolicyProblem[] = [];
  const extraSource = options.extraRulesSource ?? '(generated rules)';
  const extraRules: Rule[] = [];
  (options.extraRules ?? []).forEach((input, i) => {
    const parsed = RuleSchema.safeParse(input);
    if (parsed.success) extraRules.push(parsed.data);
    else
      problems.push(
        ...zodPolicyProblems(parsed.error, extraSource).map((p) => ({
          ...p,
          path: `${i}${p.path ? `.${p.path}` : ''}`,
        })),
      );
  });

  const compiled: CompiledRule[] = [];
  const conditions: ConditionCache = new Map();
  const seen = new Map<string, string>();
  let index = 0;
  const add = (
    rule: Rule,
    file: string,
    path: (string | number)[],
    trust: ParsedPolicy['document']['egressTrust'],
    lineOf?: ParsedPolicy['lineOf'],
  ): void => {
    const where = (sub: (string | number)[]): Pick<PolicyProblem, 'path' | 'line'> => {
      const full = [...path, ...sub];
      const line = lineOf?.(full);
      return { path: full.join('.'), ...(line !== undefined ? { line } : {}) };
    };
    const previous = seen.get(rule.id);
    if (previous !== undefined) {
      problems.push({ file, ...where(['id']), message: `rule id "${rule.id}" is already used in ${previous}` });
      return;
    }
    seen.set(rule.id, file);
    const result = compileRule(rule, index++, file, trust, conditions);
    if ('problems' in result) {
      for (const p of result.problems) problems.push({ file, ...where([p.path]), message: p.message });
      return;
    }
    compiled.push(result.rule);
  };
  for (const parsed of documents) {
    parsed.document.rules.forEach((rule, i) =>
      add(rule, parsed.file, ['rules', i], parsed.document.egressTrust, parsed.lineOf),
    );
  }
  extraRules.forEach((rule, i) => add(rule, extraSource, [i], undefined));
  if (problems.length > 0) throw new PolicyCompileError(problems);

  const version = policyVersion(
    documents.map((d) => d.document),
    extraRules,
  );
  return createEngine(compiled, version);
}

/**
 * Bounds of one engine's lookup memo: tool and principal pairs, and rule references held in all (an entry
 * holds the rules that could match its pair). A gateway with a few hundred agents and tools each in use
 * fits; past either bound the memo starts again.
 */
export const LOOKUP_MEMO_ENTRIES = 4_096;
export const LOOKUP_MEMO_RULES = 262_144;

function createEngine(rules: readonly CompiledRule[], version: string): PolicyEngine {
  const isItemRule = (r: CompiledRule) => r.source.resources !== undefined || r.source.prompts !== undefined;
  const itemRules = rules.filter(isItemRule).map((rule) => ({
    rule,
    resources: rule.source.resources?.map((pattern) => compileUriGlob(pattern)!),
    prompts: rule.source.prompts !== undefined ? compileNameGlobs(rule.source.prompts) : undefined,
  }));
  const callRules = rules.filter((r) => r.kind === 'call' && !isItemRule(r));
  const egressRules = rules.filter((r) => r.kind === 'egress');

  // Primary key: what the tool name decides (else the connector); secondary: the agent or the role, when a
  // rule names exact ones (generated per-agent baselines are the bulk of large policies).
  const byTool = new Map<string, Slot>();
  const byPrefix = new AffixIndex('prefix');
  const bySuffix = new AffixIndex('suffix');
  const byConnector = new Map<string, Slot>();
  const fallback = newSlot();
  for (const rule of callRules) {
    const tools = rule.exactTools ?? rule.toolGlobs;
    if (tools !== undefined) {
      const keys = tools.map((tool) => (isGlob(tool) ? globAffixes(tool) : { exact: tool }));
      if (keys.every((k) => 'exact' in k || k.prefix !== '' || k.suffix !== '')) {
        for (const key of keys) {
          if ('exact' in key) addToSlot(slotOf(byTool, key.exact), rule);
          else if (key.prefix !== '') addToSlot(byPrefix.slot(key.prefix), rule);
          else addToSlot(bySuffix.slot(key.suffix), rule);
        }
        continue;
      }
    }
    if (rule.connectors !== undefined) {
      for (const connector of rule.connectors) addToSlot(slotOf(byConnector, connector), rule);
      continue;
    }
    addToSlot(fallback, rule);
  }
  for (const slot of [...byTool.values(), ...byPrefix.slots(), ...bySuffix.slots(), ...byConnector.values(), fallback])
    compactSlot(slot);

  // Per-pass stamps: marks[rule.index] === stamp once the merge has taken the rule.
  const marks = new Uint32Array(rules.length);
  let stamp = 0;
  const nextStamp = (): number => {
    if (stamp === 0xffff_ffff) {
      marks.fill(0);
      stamp = 0;
    }
    return ++stamp;
  };
  const merge = (buckets: readonly Bucket[], effect: Decision['effect']): CompiledRule[] => {
    if (buckets.length === 1) return buckets[0]![effect];
    const pass = nextStamp();
    const merged: CompiledRule[] = [];
    for (const bucket of buckets) {
      for (const rule of bucket[effect]) {
        if (marks[rule.index] === pass) continue;
        marks[rule.index] = pass;
        merged.push(rule);
      }
    }
    return merged.length > 1 ? merged.sort(byIndex) : merged;
  };

  // Decisions are synchronous and never nested, so one list of buckets is reused by every lookup.
  const scratch: Bucket[] = [];
  const lookup = (tool: ToolFacts, principal: PrincipalFacts): Bucket => {
    const buckets = scratch;
    buckets.length = 0;
    pushSlot(buckets, byTool.get(tool.name), principal);
    byPrefix.lookup(buckets, tool.name, principal);
    bySuffix.lookup(buckets, tool.name, principal);
    pushSlot(buckets, byConnector.get(tool.connector), principal);
    pushSlot(buckets, fallback, principal);
    return { deny: merge(buckets, 'deny'), approve: merge(buckets, 'approve'), allow: merge(buckets, 'allow') };
  };
  const memo = new LookupMemo<Bucket>(LOOKUP_MEMO_ENTRIES, LOOKUP_MEMO_RULES);
  /** The call rules that could match this tool for this principal: one list per effect, in declaration order. */
  const candidates = (tool: ToolFacts, principal: PrincipalFacts): Bucket => {
    const key = lookupKey(tool.name, tool.connector, principal.agentId, principal.roles);
    let found = memo.get(key);
    if (found === undefined) {
      found = lookup(tool, principal);
      memo.set(key, found, found.deny.length + found.approve.length + found.allow.length + 1);
    }
    return found;
  };

  const decideEgress = (ctx: EgressContext, outcome: (rule: CompiledRule) => RuleOutcome): Decision => {
    const facts = ctx.facts;
    const target = `${facts.scheme}://${facts.host}:${facts.port}`;
    const denied = egressRules.filter((r) => r.effect === 'deny' && outcome(r).kind === 'match');
    if (denied.length > 0) {
      return {
        effect: 'deny',
        code: 'EGRESS_DENIED',
        rules: denied.map((r) => r.id),
        reason: `egress to ${target} is denied by rule ${ruleList(denied)}`,
        policyVersion: version,
      };
    }
    const allowing = egressRules.filter((r) => r.effect === 'allow' && outcome(r).kind === 'match');
    const opened = allowing.filter((r) => r.addressAllowed(ctx));
    if (opened.length > 0) {
      return {
        effect: 'allow',
        rules: opened.map((r) => r.id),
        reason: `egress to ${target} allowed by rule ${ruleList(opened)}`,
        policyVersion: version,
      };
    }
    const cls = facts.addressClass;
    if (cls !== undefined && cls !== 'public') {
      // Names the address class, not the rules: the caller learns why, not how the allowlist is built.
      return {
        effect: 'deny',
        code: 'EGRESS_DENIED',
        rules: [],
        reason: `egress to ${target} denied: the address is ${cls} and no rule opens it`,
        policyVersion: version,
      };
    }
    return {
      effect: 'deny',
      code: 'EGRESS_DENIED',
      rules: [],
      reason: `egress to ${target} is not allowed by any rule`,
      policyVersion: version,
    };
  };

  const describe = (
    rule: CompiledRule,
    result: RuleOutcome,
    miss: (check: string) => string,
  ): Pick<RuleTrace, 'outcome' | 'reason'> => {
    if (result.kind === 'match') return { outcome: 'matched', reason: 'all matchers matched' };
    if (result.kind === 'error') {
      return {
        outcome: 'error',
        reason: `condition could not be evaluated (${result.message}); ${rule.effect === 'allow' ? 'an allow rule fails closed: not matched' : 'counted as matched (fails closed)'}`,
      };
    }
    return { outcome: 'missed', reason: miss(result.check) };
  };

  const trace = (rule: CompiledRule, outcome: RuleTrace['outcome'], reason: string): RuleTrace => ({
    rule: rule.id,
    effect: rule.effect,
    file: rule.file,
    outcome,
    reason,
  });

  const engine: PolicyEngine = {
    version,
    ruleCount: rules.length,
    evaluate(call: CallFacts): CallDecision {
      const ctx: CallContext = { facts: call };
      return decideCall(version, call, candidates(call.tool, call.principal), ctx, undefined);
    },
    evaluateEgress(facts: EgressFacts): Decision {
      const ctx: EgressContext = egressContext(withAddressClass(facts));
      return decideEgress(ctx, (rule) => rule.matchEgress(ctx));
    },
    visible(principal: PrincipalFacts, tool: ToolFacts): boolean {
      const found = candidates(tool, principal);
      const matches = (rule: CompiledRule): boolean =>
        rule.subjectMatches(principal, tool.name, tool.connector, tool.flags);
      // A deny that nothing but principal and tool can stop makes the tool uncallable: hide it.
      if (found.deny.some((rule) => rule.subjectOnly && matches(rule))) return false;
      return found.approve.some(matches) || found.allow.some(matches);
    },
    itemVisible: (facts) => engine.evaluateItem(facts).effect !== 'deny',
    evaluateItem(facts: ItemFacts): CallDecision {
      const matching = itemRules.filter(({ rule, resources, prompts }) => {
        const names = facts.kind === 'resource' ? resources : undefined;
        const matchesName =
          facts.kind === 'resource'
            ? names !== undefined && names.some((match) => match(facts.name))
            : prompts !== undefined && prompts(facts.name);
        return matchesName && rule.subjectMatches(facts.principal, undefined, facts.connector, undefined);
      });
      const what = `${facts.kind} ${facts.name}`;
      for (const effect of ['deny', 'approve', 'allow'] as const) {
        const decided = matching.filter(({ rule }) => rule.effect === effect).map(({ rule }) => rule);
        if (decided.length === 0) continue;
        const approvers = Math.max(1, ...decided.map((r) => r.approval?.approvers ?? 1));
        return {
          effect,
          ...(effect === 'deny'
            ? { code: 'POLICY_DENIED' }
            : effect === 'approve'
              ? { code: 'APPROVAL_REQUIRED' }
              : {}),
          rules: decided.map((r) => r.id),
          reason: `${what} ${effect === 'allow' ? 'allowed' : effect === 'deny' ? 'denied' : 'needs approval'} by rule ${ruleList(decided)}`,
          ...(effect === 'approve' ? { approval: { approvers } } : {}),
          policyVersion: version,
        };
      }
      return {
        effect: 'deny',
        code: 'POLICY_DENIED',
        rules: [],
        reason: `no rule allows ${what}`,
        policyVersion: version,
      };
    },
    explain(call: CallFacts): Explanation {
      const ctx: CallContext = { facts: call };
      const outcomes = new Map<CompiledRule, RuleOutcome>();
      const traces: RuleTrace[] = [];
      for (const rule of rules) {
        if (rule.kind !== 'call') {
          traces.push(trace(rule, 'not-applicable', 'egress rule: decides outbound requests, not tool calls'));
          continue;
        }
        const result = rule.matchCall(ctx);
        outcomes.set(rule, result);
        const d = describe(rule, result, (check) => rule.missReason(ctx, check));
        traces.push(trace(rule, d.outcome, d.reason));
      }
      // Decide over all call rules (not just the indexed candidates): the index only skips rules that
      // cannot match, so the decision is the same, and the trace covers every rule.
      const all = newBucket();
      for (const rule of callRules) all[rule.effect].push(rule);
      const decision = decideCall(version, call, all, ctx, outcomes);
      return { decision, trace: traces };
    },
    explainEgress(facts: EgressFacts) {
      const ctx: EgressContext = egressContext(withAddressClass(facts));
      const outcomes = new Map<CompiledRule, RuleOutcome>();
      const traces: RuleTrace[] = [];
      for (const rule of rules) {
        if (rule.kind !== 'egress') {
          traces.push(trace(rule, 'not-applicable', 'call rule: decides tool calls, not outbound requests'));
          continue;
        }
        const result = rule.matchEgress(ctx);
        outcomes.set(rule, result);
        if (result.kind === 'match' && rule.effect === 'allow' && !rule.addressAllowed(ctx)) {
          traces.push(
            trace(
              rule,
              'missed',
              `the address is ${ctx.facts.addressClass ?? 'not public'} and the rule names neither its class nor a range containing ${ctx.facts.ip ?? 'it'}`,
            ),
          );
          continue;
        }
        const d = describe(rule, result, (check) => rule.egressMissReason(ctx, check));
        traces.push(trace(rule, d.outcome, d.reason));
      }
      return { decision: decideEgress(ctx, (rule) => outcomes.get(rule)!), trace: traces };
    },
  };
  return engine;
}

/**
 * The one decision procedure for calls. `memo` holds precomputed outcomes (explain); without it each rule
 * is matched on demand (evaluate), so both give the same decision. Written without per-call closures:
 * this is the hot path.
 */
function decideCall(
  version: string,
  facts: CallFacts,
  candidates: Bucket,
  ctx: CallContext,
  memo: Map<CompiledRule, RuleOutcome> | undefined,
): CallDecision {
  const errors: RuleError[] = [];
  const denied = collect(candidates.deny, 'deny', ctx, memo, errors);
  if (denied.length > 0) {
    const broken = errors.length > 0 && denied.every((r) => errors.some((e) => e.rule === r.id));
    return withErrors(
      {
        effect: 'deny',
        code: 'POLICY_DENIED',
        rules: denied.map((r) => r.id),
        reason: broken
          ? `denied: the condition of rule ${ruleList(denied)} could not be evaluated`
          : `denied by rule ${ruleList(denied)}${denied.length === 1 && denied[0]!.description ? ` (${denied[0]!.description})` : ''}`,
        policyVersion: version,
      },
      errors,
    );
  }
  const approvals = collect(candidates.approve, 'approve', ctx, memo, errors);
  const allowed = collect(candidates.allow, 'allow', ctx, memo, errors);
  if (approvals.length > 0) {
    let approvers = 1;
    let maxTtlSeconds: number | undefined;
    for (const rule of approvals) {
      approvers = Math.max(approvers, rule.approval?.approvers ?? 1);
      const ttl = rule.approval?.maxTtlSeconds;
      if (ttl !== undefined) maxTtlSeconds = maxTtlSeconds === undefined ? ttl : Math.min(maxTtlSeconds, ttl);
    }
    const broken = errors.length > 0 && approvals.every((r) => errors.some((e) => e.rule === r.id));
    return withErrors(
      {
        effect: 'approve',
        code: 'APPROVAL_REQUIRED',
        rules: approvals.map((r) => r.id),
        reason: broken
          ? `approval required: the condition of rule ${ruleList(approvals)} could not be evaluated`
          : `approval required by rule ${ruleList(approvals)}${approvals.length === 1 && approvals[0]!.description ? ` (${approvals[0]!.description})` : ''}`,
        policyVersion: version,
        approval: { approvers, ...(maxTtlSeconds !== undefined ? { maxTtlSeconds } : {}) },
        ...directives(facts, approvals.concat(allowed)),
      },
      errors,
    );
  }
  if (allowed.length > 0) {
    return withErrors(
      {
        effect: 'allow',
        rules: allowed.map((r) => r.id),
        reason: `allowed by rule ${ruleList(allowed)}`,
        policyVersion: version,
        ...directives(facts, allowed),
      },
      errors,
    );
  }
  return withErrors(
    {
      effect: 'deny',
      code: 'POLICY_DENIED',
      rules: [],
      reason:
        errors.length > 0
          ? `no rule allows this call (the condition of rule ${errors.map((e) => e.rule).join(', ')} could not be evaluated)`
          : 'no rule allows this call',
      policyVersion: version,
    },
    errors,
  );
}

/**
 * The rules of `list` (one effect's candidates, in declaration order) that match, in declaration order;
 * errors are recorded in declaration order within the effect, as a scan of every rule would, and fail
 * closed.
 */
function collect(
  list: readonly CompiledRule[],
  effect: Decision['effect'],
  ctx: CallContext,
  memo: Map<CompiledRule, RuleOutcome> | undefined,
  errors: RuleError[],
): CompiledRule[] {
  let matched: CompiledRule[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const rule = list[i]!;
    const result = memo !== undefined ? memo.get(rule)! : rule.matchCall(ctx);
    if (result.kind === 'miss') continue;
    if (result.kind === 'error') {
      errors.push({ rule: rule.id, message: result.message });
      // Fail closed: a broken deny/approve condition still denies/asks; a broken allow does not allow.
      if (effect === 'allow') continue;
    }
    (matched ??= []).push(rule);
  }
  return matched ?? NONE;
}

const NONE: CompiledRule[] = [];

function withErrors(decision: CallDecision, errors: readonly RuleError[]): CallDecision {
  return errors.length > 0 ? { ...decision, errors } : decision;
}

function directives(facts: CallFacts, rules: readonly CompiledRule[]): Pick<CallDecision, 'rateLimits' | 'labelsRead'> {
  let rateLimits: RateLimitDirective[] | undefined;
  let labels: Set<string> | undefined;
  for (const rule of rules) {
    if (rule.rateLimit !== undefined) {
      rateLimits ??= [];
      rateLimits.push({
        rule: rule.id,
        calls: rule.rateLimit.calls,
        perSeconds: rule.rateLimit.perSeconds,
        key: JSON.stringify([rule.id, facts.principal.tenant ?? '', facts.principal.agentId, facts.tool.name]),
      });
    }
    if (rule.labelsRead !== undefined) {
      labels ??= new Set();
      for (const label of rule.labelsRead) labels.add(label);
    }
  }
  return {
    ...(rateLimits !== undefined ? { rateLimits } : {}),
    ...(labels !== undefined ? { labelsRead: [...labels].sort() } : {}),
  };
}

/**
 * Facts with a resolved address always carry its class: the guard passes the one it computed (with the
 * same classifier); hand-written facts (policy test cases) may leave it out and get it computed here.
 */
function withAddressClass(facts: EgressFacts): EgressFacts {
  if (facts.ip === undefined || facts.addressClass !== undefined) return facts;
  try {
    return { ...facts, addressClass: classifyAddress(facts.ip) };
  } catch {
    // Not an address: no rule's address check can match it, and it is never public.
    return { ...facts, addressClass: 'reserved' };
  }
}
