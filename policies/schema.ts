/**
 * The policy language: strict zod schemas for policy documents, rules and their test cases.
 *
 * Unknown keys are rejected everywhere, so a typo never silently widens or narrows a rule. Everything that
 * can be checked without the rest of the policy is checked here (globs, path patterns, CIDRs, time zones,
 * durations, which keys fit which effect), so the error carries the path to the bad key. CEL conditions
 * and cross-document checks (unique rule ids) are checked by `compilePolicy`.
 */
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { compileUriGlob } from './resource-uri.js';
import { parseDuration } from './duration.js';
import { hostGlobProblem } from './glob.js';
import { compilePathPattern, PathPatternError } from './path-pattern.js';
import { isValidTimeZone, parseHhMm, WEEKDAYS } from './time-window.js';

export const RULE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

const NonEmptyString = z.string().min(1);
const NameGlobList = z.array(NonEmptyString).min(1);

export const DurationSchema = z
  .string()
  .refine((text) => parseDuration(text) !== undefined, { message: 'expected a duration such as 30s, 15m, 1h or 1d' })
  .describe('a whole number and one unit: s, m, h or d');

export const HostGlobSchema = z
  .string()
  .min(1)
  .superRefine((pattern, ctx) => {
    const problem = hostGlobProblem(pattern);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('DNS name or glob: `*` is one label, a leading `**.` one or more labels, `**` alone any host');

export const PathPatternSchema = z
  .string()
  .min(1)
  .superRefine((pattern, ctx) => {
    try {
      compilePathPattern(pattern);
    } catch (error) {
      if (!(error instanceof PathPatternError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message });
    }
  })
  .describe('canonical path pattern: literal segments, {name}, * (one segment), ** (any number of segments)');

export const CidrSchema = z
  .string()
  .refine((text) => ipaddr.isValidCIDR(text), { message: 'expected a CIDR such as 10.0.0.0/8 or fd00::/8' });

export const AddressClassSchema = z.enum([
  'public',
  'private',
  'loopback',
  'link-local',
  'metadata',
  'cgnat',
  'unique-local',
  'unspecified',
  'multicast',
  'broadcast',
  'reserved',
]);

export const PrincipalMatcherSchema = z
  .object({
    /** Globs on the agent id. */
    agents: NameGlobList.optional(),
    /** The principal has at least one of these roles. */
    roles: NameGlobList.optional(),
    tenants: NameGlobList.optional(),
    environments: NameGlobList.optional(),
    /** How the principal authenticated: api-key, task-token, oauth, spiffe. */
    authMethods: NameGlobList.optional(),
  })
  .strict();

export const TaskMatcherSchema = z
  .object({
    /** Glob on the task's declared intent, case-insensitive; a task without an intent never matches. */
    intent: NonEmptyString.optional(),
    /** The task declared this tool (by exposed name or glob) when it was opened. */
    declaredOnly: z.boolean().optional(),
  })
  .strict();

export const HttpMatcherSchema = z
  .object({
    methods: z
      .array(z.string().regex(/^[A-Za-z]+$/, 'expected an HTTP method'))
      .min(1)
      .optional(),
    paths: z.array(PathPatternSchema).min(1).optional(),
  })
  .strict();

export const EgressMatcherSchema = z
  .object({
    hosts: z.array(HostGlobSchema).min(1).optional(),
    ports: z.array(z.number().int().min(1).max(65_535)).min(1).optional(),
    schemes: z
      .array(z.enum(['http', 'https', 'ws', 'wss']))
      .min(1)
      .optional(),
    /**
     * On allow rules: the non-public ranges (private, loopback, link-local, metadata, ...) this rule opens.
     * On deny rules, and rules without hosts: the resolved address must be in one of them.
     */
    cidrs: z.array(CidrSchema).min(1).optional(),
    /**
     * Address classes (`loopback`, `private`, `link-local`, `metadata`, `unique-local`, `public`, ...), with
     * the same meaning as `cidrs`. Both match every spelling of an address: IPv4-mapped, IPv4-compatible,
     * NAT64 and 6to4 forms of an IPv4 address count as that address.
     */
    classes: z.array(AddressClassSchema).min(1).optional(),
  })
  .strict()
  .refine((e) => e.hosts !== undefined || e.cidrs !== undefined || e.classes !== undefined, {
    message: 'an egress matcher needs `hosts`, `cidrs` or `classes`',
  });

export const TimeMatcherSchema = z
  .object({
    days: z.array(z.enum(WEEKDAYS)).min(1).optional(),
    between: z
      .tuple([z.string(), z.string()])
      .refine(([from, to]) => parseHhMm(from) !== undefined && parseHhMm(to) !== undefined && from !== to, {
        message: 'expected two different times HH:MM (24-hour)',
      })
      .optional(),
    tz: z
      .string()
      .refine(isValidTimeZone, { message: 'unknown time zone (use an IANA name such as Europe/Berlin)' })
      .default('UTC'),
  })
  .strict()
  .refine((t) => t.days !== undefined || t.between !== undefined, {
    message: 'a time matcher needs `days` or `between`',
  });

export const RateLimitSchema = z
  .object({
    calls: z.number().int().min(1),
    per: DurationSchema,
  })
  .strict();

export const ApprovalSchema = z
  .object({
    /** Distinct operators that must approve. */
    approvers: z.number().int().min(1).max(10).default(1),
    /** Longest grant an approval may give. */
    maxTtl: DurationSchema.optional(),
  })
  .strict();

export const LabelsSchema = z
  .object({
    /** Data labels the matching calls read; the gateway adds them to the task's `labelsRead`. */
    reads: z.array(NonEmptyString).min(1),
  })
  .strict();

export const FlowMatcherSchema = z
  .object({
    /** The task has read data with any of these labels. */
    labels: z.array(NonEmptyString).min(1),
    /** Where the call sends data: only `untrusted` destinations are matched. */
    to: z.literal('untrusted').default('untrusted'),
  })
  .strict();

export const EgressTrustSchema = z
  .object({
    /** Destinations (host globs) data may flow to; everything else is untrusted. */
    trusted: z.array(HostGlobSchema).default([]),
    /** Carve-outs: hosts that stay untrusted even when `trusted` matches them. */
    untrusted: z.array(HostGlobSchema).default([]),
    /** Tools without an HTTP destination (e.g. MCP tools) whose output stays inside. */
    trustedTools: z.array(NonEmptyString).default([]),
  })
  .strict();

export const EffectSchema = z.enum(['allow', 'deny', 'approve']);

export const RuleSchema = z
  .object({
    id: z.string().regex(RULE_ID_PATTERN, 'expected letters, digits and . _ : / - (up to 128)'),
    effect: EffectSchema,
    description: z.string().optional(),
    principal: PrincipalMatcherSchema.optional(),
    task: TaskMatcherSchema.optional(),
    /** Globs on exposed tool names (`${connector}_${tool}`). */
    tools: NameGlobList.optional(),
    /**
     * Globs on resource URIs (as the gateway lists them), matched against the canonical URI: a rule with
     * `resources` decides `resources/read`, `resources/subscribe`, completions and what listings show.
     */
    resources: z.array(NonEmptyString).min(1).optional(),
    /** Globs on exposed prompt names (`${connector}_${prompt}`): decides `prompts/get`, completions, listings. */
    prompts: NameGlobList.optional(),
    /** Connector id(s) the tool belongs to. */
    connector: z.union([NonEmptyString, z.array(NonEmptyString).min(1)]).optional(),
    /** The tool definition carries any of these integrity flags. */
    toolFlags: NameGlobList.optional(),
    http: HttpMatcherSchema.optional(),
    egress: EgressMatcherSchema.optional(),
    time: TimeMatcherSchema.optional(),
    /** CEL over args, principal, task, tool, http (with http.params) and now; must yield a bool. */
    when: NonEmptyString.optional(),
    flow: FlowMatcherSchema.optional(),
    /** Overrides the document's egressTrust for this rule's `flow`. */
    egressTrust: EgressTrustSchema.optional(),
    rateLimit: RateLimitSchema.optional(),
    approval: ApprovalSchema.optional(),
    labels: LabelsSchema.optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    const problem = (path: string, message: string): void => ctx.addIssue({ code: 'custom', path: [path], message });
    if (rule.approval !== undefined && rule.effect !== 'approve')
      problem('approval', 'only rules with effect approve take `approval`');
    if (rule.rateLimit !== undefined && rule.effect === 'deny')
      problem('rateLimit', 'a deny rule has nothing to rate-limit');
    if (rule.labels !== undefined && rule.effect === 'deny')
      problem('labels', 'a deny rule reads nothing; put labels on the rule that lets the call through');
    if (rule.flow !== undefined && rule.effect === 'allow')
      problem('flow', 'data-flow matchers decide deny or approve, not allow');
    if (rule.egressTrust !== undefined && rule.flow === undefined)
      problem('egressTrust', 'egressTrust on a rule only applies to its `flow` matcher');
    if (rule.resources !== undefined || rule.prompts !== undefined) {
      // Resource and prompt rules decide those items only, on who asks and which item: never tool calls.
      for (const key of [
        'tools',
        'toolFlags',
        'http',
        'egress',
        'task',
        'time',
        'when',
        'flow',
        'rateLimit',
        'labels',
      ] as const) {
        if (rule[key] !== undefined)
          problem(key, 'not allowed on a resource or prompt rule (a rule with `resources` or `prompts`)');
      }
      for (const [i, pattern] of (rule.resources ?? []).entries()) {
        if (compileUriGlob(pattern) === undefined)
          ctx.addIssue({ code: 'custom', path: ['resources', i], message: 'not a URI with a canonical form' });
      }
    }
    if (rule.egress !== undefined) {
      // Egress rules decide where requests may go; they never decide tool calls.
      if (rule.effect === 'approve') problem('effect', 'egress rules allow or deny; approval belongs to the tool call');
      for (const key of ['http', 'time', 'when', 'flow', 'rateLimit', 'labels', 'toolFlags'] as const) {
        if (rule[key] !== undefined) problem(key, `not allowed on an egress rule (a rule with \`egress\`)`);
      }
    }
  });

/** Facts a policy test or `policy explain` describes; short forms are filled in by `callFactsFromInput`. */
export const CallFactsInputSchema = z
  .object({
    principal: z
      .object({
        agentId: NonEmptyString,
        roles: z.array(NonEmptyString).default([]),
        tenant: NonEmptyString.optional(),
        environment: NonEmptyString.optional(),
        authMethod: NonEmptyString.optional(),
      })
      .strict(),
    task: z
      .object({
        id: NonEmptyString.default('task-1'),
        intent: z.string().optional(),
        declaredTools: z.array(NonEmptyString).optional(),
        labelsRead: z.array(NonEmptyString).optional(),
      })
      .strict()
      .optional(),
    /** Exposed tool name, or the full tool facts. */
    tool: z.union([
      NonEmptyString,
      z
        .object({
          name: NonEmptyString,
          connector: NonEmptyString.optional(),
          local: NonEmptyString.optional(),
          connectorKind: z.enum(['http', 'mcp', 'gateway']).optional(),
          annotations: z.record(z.string(), z.unknown()).optional(),
          flags: z.array(NonEmptyString).optional(),
        })
        .strict(),
    ]),
    http: z
      .object({
        method: NonEmptyString,
        path: z.string(),
        scheme: z.enum(['http', 'https']).default('https'),
        host: NonEmptyString.default('backend.test'),
        port: z.number().int().min(1).max(65_535).optional(),
        query: z.string().default(''),
      })
      .strict()
      .optional(),
    args: z.record(z.string(), z.unknown()).default({}),
    /** ISO 8601 time or epoch milliseconds; defaults to Monday 2024-01-01T12:00:00Z. */
    now: z.union([z.iso.datetime({ offset: true }), z.number().int()]).optional(),
  })
  .strict();

export const EgressFactsInputSchema = z
  .object({
    principal: CallFactsInputSchema.shape.principal.optional(),
    task: CallFactsInputSchema.shape.task,
    connector: NonEmptyString,
    tool: NonEmptyString.optional(),
    scheme: z.string().default('https'),
    host: NonEmptyString,
    port: z.number().int().min(1).max(65_535).optional(),
    ip: z
      .string()
      .refine((text) => ipaddr.isValid(text), { message: 'expected an IP address' })
      .optional(),
    addressClass: AddressClassSchema.optional(),
  })
  .strict();

export const VisibilityInputSchema = z
  .object({
    principal: CallFactsInputSchema.shape.principal,
    tool: CallFactsInputSchema.shape.tool,
  })
  .strict();

export const PolicyTestCaseSchema = z
  .object({
    name: NonEmptyString,
    /** A tool call to decide. */
    facts: CallFactsInputSchema.optional(),
    /** An outbound request to decide. */
    egress: EgressFactsInputSchema.optional(),
    /** A tools/list visibility question. */
    visible: VisibilityInputSchema.optional(),
    expect: z
      .object({
        effect: EffectSchema.optional(),
        code: NonEmptyString.optional(),
        /** Exactly these rule ids decided (order does not matter). */
        rules: z.array(z.string()).optional(),
        /** For `visible` cases. */
        visible: z.boolean().optional(),
        /** Exactly these data labels are reported as read by the call. */
        labelsRead: z.array(NonEmptyString).optional(),
        /** The reason contains this text. */
        reasonIncludes: NonEmptyString.optional(),
      })
      .strict(),
  })
  .strict()
  .superRefine((test, ctx) => {
    const kinds = [test.facts, test.egress, test.visible].filter((k) => k !== undefined).length;
    if (kinds !== 1)
      ctx.addIssue({ code: 'custom', message: 'a test case has exactly one of `facts`, `egress` or `visible`' });
    if (test.visible !== undefined && test.expect.visible === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['expect', 'visible'],
        message: 'a `visible` case expects `visible: true|false`',
      });
    }
    if (test.visible === undefined && test.expect.effect === undefined) {
      ctx.addIssue({ code: 'custom', path: ['expect', 'effect'], message: 'expected effect is required' });
    }
  });

export const PolicyTestsSchema = z.array(PolicyTestCaseSchema);

export const PolicyDocumentSchema = z
  .object({
    version: z.literal(1),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'expected letters, digits and . _ - (up to 128)'),
    description: z.string().optional(),
    /** Trusted destinations for this document's data-flow rules. */
    egressTrust: EgressTrustSchema.optional(),
    rules: z.array(RuleSchema).default([]),
    tests: PolicyTestsSchema.optional(),
  })
  .strict();

/** A sibling `<name>.tests.yaml` file. */
export const PolicyTestFileSchema = z
  .object({
    tests: PolicyTestsSchema,
  })
  .strict();

export type RuleInput = z.input<typeof RuleSchema>;
export type Rule = z.output<typeof RuleSchema>;
export type PolicyDocument = z.output<typeof PolicyDocumentSchema>;
export type PolicyDocumentInput = z.input<typeof PolicyDocumentSchema>;
export type EgressTrust = z.output<typeof EgressTrustSchema>;
export type PolicyTestCase = z.output<typeof PolicyTestCaseSchema>;
export type CallFactsInput = z.input<typeof CallFactsInputSchema>;
export type EgressFactsInput = z.input<typeof EgressFactsInputSchema>;
