/**
 * The eval scenario format: shared profiles (`evals/profiles/*.yaml`), scenario files
 * (`evals/scenarios/<category>/*.yaml`) and the known-gaps list, as strict zod schemas.
 *
 * Strings anywhere in a profile's gateway config, policy and backend routes, and in step arguments, may use
 * `${backends.NAME.url}`, `${backends.NAME.port}`, `${backends.NAME.host}` (host:port) `${gateway.url}` and `${pad.2m}` (2 MiB of padding);
 * they are filled in once the fixtures listen on their port-0 addresses.
 */
import { z } from 'zod';

export const CATEGORIES = [
  'identity',
  'agency',
  'arguments',
  'egress',
  'integrity',
  'response',
  'dataflow',
  'protocol',
  'resources',
  'approvals',
] as const;
export type Category = (typeof CATEGORIES)[number];

const NameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'expected a lower-case name');

export const ScriptedRouteSchema = z
  .object({
    method: z.string().optional(),
    path: z.string().min(1),
    status: z.number().int().min(100).max(599).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    json: z.unknown().optional(),
    text: z.string().optional(),
    redirect: z.string().optional(),
    bytes: z.number().int().min(0).optional(),
    delayMs: z.number().int().min(0).max(60_000).optional(),
  })
  .strict();

export const ScriptedToolSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    inputSchema: z.record(z.string(), z.unknown()).optional(),
    reply: z.string().optional(),
  })
  .strict();

/** A fixture backend the profile starts on 127.0.0.1 port 0. */
export const BackendSpecSchema = z.discriminatedUnion('kind', [
  /** The REST fixture of the integration tests (test/fixtures/http-backend.ts). */
  z.object({ kind: z.literal('http-fixture') }).strict(),
  /** A REST backend whose answers are scripted here (test/fixtures/eval-scripted-backend.ts). */
  z
    .object({
      kind: z.literal('scripted-http'),
      routes: z.array(ScriptedRouteSchema).default([]),
      /** Listen address other than 127.0.0.1: only inside the eval network namespace (see namespace.ts). */
      host: z.ipv4().or(z.ipv6()).optional(),
    })
    .strict(),
  /** An upstream MCP server over Streamable HTTP with scripted tools (test/fixtures/eval-mcp-upstream.ts). */
  z
    .object({
      kind: z.literal('mcp-scripted'),
      tools: z.array(ScriptedToolSchema).default([]),
      host: z.ipv4().or(z.ipv6()).optional(),
    })
    .strict(),
]);

export const AgentSpecSchema = z
  .object({
    id: z.string().min(1),
    roles: z.array(z.string()).default([]),
    tenant: z.string().optional(),
    tools: z.array(z.string()).default([]),
    owners: z.array(z.string()).default([]),
  })
  .strict();

export const OperatorSpecSchema = z
  .object({
    id: z.string().min(1),
    roles: z.array(z.enum(['approver', 'admin', 'viewer'])).default(['approver']),
  })
  .strict();

/** Everything a gateway instance runs under. */
export const SetupSchema = z
  .object({
    description: z.string().optional(),
    backends: z.record(NameSchema, BackendSpecSchema).default({}),
    agents: z.array(AgentSpecSchema).default([]),
    operators: z.array(OperatorSpecSchema).default([]),
    /** Gateway configuration without `listen`, `agents`, `operators`, `audit` and `policy` (filled in). */
    gateway: z.record(z.string(), z.unknown()).default({}),
    /** Policy documents (the policy engine's format), written to files and enforced. */
    policies: z.array(z.record(z.string(), z.unknown())).default([]),
  })
  .strict();

export const ProfileSchema = SetupSchema.extend({ name: NameSchema }).strict();

/** What one backend recorded during a step: a count, or a count plus what the last request looked like. */
export const BackendExpectSchema = z.union([
  z.number().int().min(0),
  z
    .object({
      count: z.number().int().min(0).optional(),
      atLeast: z.number().int().min(0).optional(),
      method: z.string().optional(),
      /** The request target as received (path and query). */
      url: z.string().optional(),
      urlIncludes: z.string().optional(),
      urlExcludes: z.array(z.string()).optional(),
      /** Header names (lower case) that must not have reached the backend. */
      headersAbsent: z.array(z.string()).optional(),
      /** Header name -> exact value (lower-case names). */
      headers: z.record(z.string(), z.string()).optional(),
      /** Text that must not appear anywhere in what the backend received (headers, URL, body). */
      neverSaw: z.array(z.string()).optional(),
      body: z.unknown().optional(),
      /** Tool name, for upstream MCP calls. */
      tool: z.string().optional(),
      /**
       * Why this backend's request count is not the step's to fix (e.g. a connector's background reconnects).
       * Then every request it received, not only the last, must match `method` and `url`.
       */
      background: z.string().min(10).optional(),
    })
    .strict(),
]);

export const CallExpectSchema = z
  .object({
    /** true: a tool result without isError. false: anything else. */
    ok: z.boolean().optional(),
    /** `_meta["portcullis/code"]` of an isError result. */
    code: z.string().optional(),
    /** JSON-RPC error code (e.g. -32602 for an unknown tool or invalid arguments). */
    rpcError: z.number().int().optional(),
    /** HTTP status of the POST carrying the call (default: 200 expected unless stated). */
    status: z.number().int().optional(),
    textIncludes: z.array(z.string()).optional(),
    textExcludes: z.array(z.string()).optional(),
    /** Upper bound on the size of the result's text content. */
    maxTextBytes: z.number().int().min(0).optional(),
    backends: z.record(z.string(), BackendExpectSchema).optional(),
  })
  .strict();

export const HttpExpectSchema = z
  .object({
    status: z.number().int().optional(),
    statusIn: z.array(z.number().int()).optional(),
    /** The status is not this one (e.g. not 200 for a refused request). */
    statusNot: z.array(z.number().int()).optional(),
    bodyIncludes: z.array(z.string()).optional(),
    bodyExcludes: z.array(z.string()).optional(),
    /** The JSON-RPC answer is an error (or there is no JSON-RPC result at all). */
    noResult: z.boolean().optional(),
    /** The JSON-RPC error code of the answer. */
    rpcError: z.number().int().optional(),
    backends: z.record(z.string(), BackendExpectSchema).optional(),
  })
  .strict();

/** Who makes an agent request: a configured agent (its API key), a saved token, or a literal bearer. */
const CallerFields = {
  agent: z.string().optional(),
  token: z.string().optional(),
  /** A second, separate MCP session for the same caller (e.g. `b`). */
  session: z.string().optional(),
};

export const StepSchema = z.discriminatedUnion('do', [
  z
    .object({
      do: z.literal('list'),
      ...CallerFields,
      expect: z
        .object({ includes: z.array(z.string()).default([]), excludes: z.array(z.string()).default([]) })
        .strict(),
    })
    .strict(),
  z
    .object({
      do: z.literal('call'),
      ...CallerFields,
      tool: z.string(),
      args: z.record(z.string(), z.unknown()).default({}),
      meta: z.record(z.string(), z.unknown()).optional(),
      /** Save `_meta["portcullis/approvalId"]` of the answer under this name. */
      saveApproval: z.string().optional(),
      expect: CallExpectSchema,
    })
    .strict(),
  z
    .object({
      do: z.literal('http'),
      method: z.string().default('POST'),
      /** Path on the gateway, e.g. `/mcp?access_token=...`. */
      path: z.string().default('/mcp'),
      /** `agent:ID`, `token:NAME`, `raw:VALUE` (sent as given), or absent for no Authorization header. */
      auth: z.string().optional(),
      /** Extra headers; a list of pairs sends repeated headers as separate lines. */
      headers: z.union([z.record(z.string(), z.string()), z.array(z.tuple([z.string(), z.string()]))]).optional(),
      /** Use the MCP session of this caller (`agent:ID` or `token:NAME`), opening it first if needed. */
      sessionOf: z.string().optional(),
      /** JSON value (sent as JSON) or raw text. */
      body: z.unknown().optional(),
      rawBody: z.string().optional(),
      expect: HttpExpectSchema,
    })
    .strict(),
  z
    .object({
      do: z.literal('open-task'),
      agent: z.string(),
      intent: z.string(),
      declaredTools: z.array(z.string()).optional(),
      ttlSeconds: z.number().int().optional(),
      save: z.string(),
    })
    .strict(),
  z
    .object({
      do: z.literal('forge-token'),
      /** Start from this saved token's claims (and header), or from an empty claim set. */
      from: z.string().optional(),
      /** Claims to set (null removes); numbers in `relative` are seconds from now. */
      claims: z.record(z.string(), z.unknown()).default({}),
      relative: z.record(z.string(), z.number()).default({}),
      header: z.record(z.string(), z.unknown()).default({}),
      /** `gateway`: the gateway's own signing key; `stranger`: a fresh key; `none`: unsigned (alg none); `tamper`: the original signature over changed claims. */
      sign: z.enum(['gateway', 'stranger', 'none', 'tamper']).default('gateway'),
      save: z.string(),
    })
    .strict(),
  z
    .object({
      do: z.literal('end-task'),
      token: z.string(),
    })
    .strict(),
  z
    .object({
      do: z.literal('decide'),
      operator: z.string(),
      approval: z.string(),
      approve: z.boolean(),
      reason: z.string().optional(),
      ttlSeconds: z.number().int().optional(),
      scope: z.enum(['call', 'task-tool']).optional(),
      expect: z.object({ status: z.number().int(), code: z.string().optional() }).strict(),
    })
    .strict(),
  z.object({ do: z.literal('sleep'), ms: z.number().int().min(0).max(10_000) }).strict(),
  z
    .object({
      do: z.literal('set-upstream-tools'),
      backend: z.string(),
      tools: z.array(ScriptedToolSchema),
      /** Re-list the connectors afterwards (as a list_changed notification or a periodic refresh would). */
      refresh: z.boolean().default(true),
    })
    .strict(),
]);

export const ScenarioSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9/._-]{2,127}$/, 'expected a lower-case id'),
    kind: z.enum(['attack', 'benign']),
    /** The scenario's twin: an attack names its benign twin and the other way round. */
    twin: z.string().optional(),
    title: z.string().min(1),
    source: z.string().optional(),
    steps: z.array(StepSchema).min(1),
  })
  .strict();

export const ScenarioFileSchema = z
  .object({
    category: z.enum(CATEGORIES),
    /** Where the attacks come from (AgentDojo, InjecAgent, OWASP, Invariant Labs, ...). */
    source: z.string().min(1),
    description: z.string().optional(),
    /**
     * The scenarios need the eval network namespace: backends on private and metadata addresses and the
     * namespace's own hosts file. Outside it they do not run (and fail the gate under CI=true).
     */
    namespace: z.boolean().default(false),
    /** A shared profile from evals/profiles, or an inline `setup` for this file alone. */
    profile: NameSchema.optional(),
    setup: SetupSchema.optional(),
    scenarios: z.array(ScenarioSchema).min(1),
  })
  .strict()
  .refine((f) => (f.profile === undefined) !== (f.setup === undefined), {
    message: 'a scenario file names a `profile` or has a `setup`, not both',
  });

const OwaspMcpSchema = z.string().regex(/^MCP(0[1-9]|10)$/, 'expected an OWASP MCP Top 10 id, MCP01 to MCP10');

/** evals/taxonomy.yaml: every category mapped to the OWASP MCP Top 10 and published attack classes. */
export const TaxonomySchema = z
  .object({
    categories: z.record(
      z.enum(CATEGORIES),
      z
        .object({
          owaspMcp: z.array(OwaspMcpSchema),
          /** Required when no OWASP MCP entry applies: say which taxonomy does. */
          note: z.string().optional(),
          classes: z.array(z.string().min(1)).min(1),
        })
        .strict()
        .refine((c) => c.owaspMcp.length > 0 || c.note !== undefined, {
          message: 'a category without an OWASP MCP entry needs a note',
        }),
    ),
  })
  .strict();
export type Taxonomy = z.infer<typeof TaxonomySchema>;

export const KnownGapsSchema = z
  .object({
    gaps: z
      .array(
        z
          .object({
            id: z.string().min(1),
            reason: z.string().min(1),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export type BackendSpec = z.infer<typeof BackendSpecSchema>;
export type Setup = z.infer<typeof SetupSchema>;
export type Profile = z.infer<typeof ProfileSchema>;
export type Step = z.infer<typeof StepSchema>;
export type Scenario = z.infer<typeof ScenarioSchema>;
export type ScenarioFile = z.infer<typeof ScenarioFileSchema>;
export type BackendExpect = z.infer<typeof BackendExpectSchema>;
export type KnownGap = z.infer<typeof KnownGapsSchema>['gaps'][number];
