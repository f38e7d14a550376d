/**
 * The gateway's configuration file (`portcullis.yaml`), as strict zod schemas.
 *
 * Parsed once at the edge (gateway/config/load.ts) and passed on as typed objects. Unknown keys are
 * rejected everywhere so a typo never silently turns a control off. Secrets are never written inline:
 * a `SecretRef` is `env:NAME` or `file:PATH`, resolved at load into a `Secret` that prints `[redacted]`.
 */
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { HttpConnectorConfigSchema } from '../../connectors/http/index.js';
import { McpConnectorConfigSchema } from '../../connectors/mcp/index.js';
import { AddressClassSchema } from '../../policies/index.js';
import { configuredHostProblem } from '../../connectors/request-hygiene.js';

/** The same rule the connectors apply to their URLs: a host ending in a dot never matches its own rule. */
function hostWithoutTrailingDot(url: string, ctx: z.RefinementCtx): void {
  const problem = configuredHostProblem(url);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
}

/** `env:NAME` or `file:PATH`. */
export const SecretRefSchema = z
  .string()
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/, 'expected a secret reference: env:NAME or file:PATH');

const HostSchema = z.string().min(1);
const GlobSchema = z.string().min(1).max(256);
const IdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected an id: letters, digits, . _ -');

export const ListenSchema = z
  .object({
    host: HostSchema.default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8787),
  })
  .strict();

export const HttpEdgeSchema = z
  .object({
    /** Origins allowed to call /mcp from a browser (DNS-rebinding defence). Requests without Origin pass. */
    allowedOrigins: z.array(z.string().url()).default([]),
    /**
     * Host names accepted, compared exactly after URL parsing: `gateway.example.com` (any port) or
     * `gateway.example.com:443`. Loopback IP literals and `localhost` are always accepted when listening on loopback.
     */
    allowedHosts: z.array(HostSchema).default([]),
    maxRequestBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    /**
     * How a request is answered. `auto`: as one JSON body when its answer is ready with nothing streamed
     * before it, else as an event stream (progress, relayed requests, or no answer within a second);
     * `sse`: always an event stream; `json`: always one JSON body (mid-call messages are not streamed).
     */
    responseMode: z.enum(['auto', 'sse', 'json']).default('auto'),
    /** Idle MCP sessions are closed after this long. */
    sessionIdleSeconds: z.number().int().min(10).max(86_400).default(1800),
    /** Open MCP sessions one agent may hold at once; more are refused with 429. */
    maxSessionsPerAgent: z.number().int().min(1).max(100_000).default(256),
    /**
     * Longest time to receive one request, headers and body (a trickling client is cut off). Responses are
     * not limited by it: approval waits and SSE streams last as long as they need.
     */
    requestTimeoutSeconds: z.number().int().min(1).max(3600).default(30),
    /** Public base URL, used in OAuth metadata and links. Defaults to the listen address. */
    publicUrl: z.string().url().optional(),
  })
  .strict();

export const ApiKeySchema = z.union([
  z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex characters') }).strict(),
  z.object({ secret: SecretRefSchema }).strict(),
]);

export const AgentSchema = z
  .object({
    id: IdSchema,
    description: z.string().optional(),
    roles: z.array(z.string().min(1)).default([]),
    tenant: z.string().min(1).optional(),
    environment: z.string().min(1).optional(),
    apiKeys: z.array(ApiKeySchema).default([]),
    /** Baseline tool allowlist: globs on exposed tool names. Empty = nothing beyond what policy files allow. */
    tools: z.array(GlobSchema).default([]),
    /** Baseline resource allowlist: globs on resource URIs (`*` within a segment, `**` across). */
    resources: z.array(z.string().min(1)).default([]),
    /** Baseline prompt allowlist: globs on exposed prompt names. */
    prompts: z.array(GlobSchema).default([]),
    /** Operators responsible for this agent: they may not approve its elevation requests. */
    owners: z.array(IdSchema).default([]),
    disabled: z.boolean().default(false),
  })
  .strict();

export const OperatorSchema = z
  .object({
    id: IdSchema,
    description: z.string().optional(),
    /** `approver` may decide elevation requests; `admin` may also disable agents and revoke credentials. */
    roles: z.array(z.enum(['approver', 'admin', 'viewer'])).default(['approver']),
    tokens: z.array(ApiKeySchema).min(1, 'an operator needs at least one token'),
  })
  .strict();

export const ApprovalsSchema = z
  .object({
    /** `wait`: the call waits (with progress notifications) for the decision; `return`: APPROVAL_PENDING at once, retry later. */
    mode: z.enum(['wait', 'return']).default('wait'),
    /** How long a waiting call waits before answering APPROVAL_PENDING (the request stays open). */
    waitSeconds: z.number().min(0.1).max(3600).default(120),
    /** Pending requests expire after this long. */
    pendingTtlSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 86_400)
      .default(900),
    /** Longest grant an operator may give. */
    maxGrantSeconds: z.number().int().min(1).max(86_400).default(900),
    requireApproveReason: z.boolean().default(false),
    /** Offer agents the `portcullis_request_elevation` tool to ask for approval ahead of a call. */
    offerRequestTool: z.boolean().default(false),
    /** Called with a short summary of each new request (e.g. a chat incoming webhook). */
    webhookUrl: z.string().url().superRefine(hostWithoutTrailingDot).optional(),
  })
  .strict();

export const ConnectorConfigSchema = z.union([HttpConnectorConfigSchema, McpConnectorConfigSchema]);

/** One non-public destination a connector may reach: a CIDR (`10.20.0.0/16`) or an address class (`loopback`). */
export const PrivateAllowanceSchema = z
  .string()
  .refine((text) => ipaddr.isValidCIDR(text) || AddressClassSchema.safeParse(text).success, {
    message: `expected a CIDR such as 10.0.0.0/8 or an address class (${AddressClassSchema.options.join(', ')})`,
  });

export const ConnectorEgressSchema = z
  .object({
    /**
     * Non-public destinations this connector's own host may resolve to: private, loopback, link-local,
     * metadata and the other non-public classes are denied unless named here or by a policy rule.
     */
    allowPrivate: z.array(PrivateAllowanceSchema).min(1).optional(),
  })
  .strict();

export const EgressSchema = z
  .object({
    /** Removed: a global allowance let every connector reach the ranges. Kept only to explain the move. */
    allowPrivate: z.unknown().optional(),
    /** Connector id -> its egress settings. */
    connectors: z.record(z.string(), ConnectorEgressSchema).default({}),
    /**
     * The gateway's own outbound requests (approvals webhook, OAuth JWKS), decided by their own rules: each
     * may reach only the URL configured for it, and non-public destinations named here.
     */
    gateway: z
      .object({ approvalsWebhook: ConnectorEgressSchema.optional(), oauthJwks: ConnectorEgressSchema.optional() })
      .strict()
      .default({}),
    maxRedirects: z.number().int().min(0).max(20).default(5),
    maxResponseBytes: z
      .number()
      .int()
      .min(1024)
      .default(10 * 1024 * 1024),
    timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  })
  .strict()
  .superRefine((egress, ctx) => {
    if (egress.allowPrivate === undefined) return;
    ctx.addIssue({
      code: 'custom',
      path: ['allowPrivate'],
      message:
        'egress.allowPrivate is no longer accepted: it opened the ranges to every connector. Name them for ' +
        'each connector that needs them instead, e.g. `egress: { connectors: { crm: { allowPrivate: [10.20.0.0/16] } } }`',
    });
  });

export const PolicyFilesSchema = z
  .object({
    files: z.array(z.string().min(1)).default([]),
    /** Loaded and evaluated next to the enforced policy, logged and counted, never enforced. */
    shadow: z.array(z.string().min(1)).default([]),
    watch: z.boolean().default(true),
    /**
     * A policy file written in place is loaded only once it has been unchanged this long (a file replaced
     * by atomic rename is loaded at once). Writers that pause longer mid-write are not supported.
     */
    settleMs: z.number().int().min(0).max(600_000).default(2000),
  })
  .strict();

/** Overload protection, applied to each connector on its own. */
export const ConnectorLimitsSchema = z
  .object({
    /** Calls running against one connector at once. */
    maxConcurrent: z.number().int().min(1).max(100_000).default(64),
    /** Calls waiting for a slot on one connector; beyond that, calls are refused at once with OVERLOADED. */
    maxQueued: z.number().int().min(0).max(100_000).default(128),
  })
  .strict();

export const StoresSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('memory') }).strict(),
  z
    .object({
      kind: z.literal('redis'),
      url: z.string().regex(/^rediss?:\/\//, 'expected redis:// or rediss:// URL'),
      password: SecretRefSchema.optional(),
      prefix: z.string().min(1).default('portcullis:'),
      /**
       * What to do when Redis lost its data (a restart without persistence, a flush): the gateway refuses
       * until the state that denies is rebuilt from the audit logs (docs/operations.md).
       */
      recovery: z
        .object({
          /**
           * Rebuild by itself, from its own audit log and `auditFiles`, as soon as the loss is seen. With
           * several instances whose logs are not all listed here, each instance adds its own log's state
           * when it sees the loss; set false to recover only with `portcullis store rebuild`.
           */
          automatic: z.boolean().default(true),
          /** Other instances' audit logs (`audit.file` names, e.g. on a shared volume) to rebuild from. */
          auditFiles: z.array(z.string().min(1)).default([]),
        })
        .strict()
        .default({ automatic: true, auditFiles: [] }),
    })
    .strict(),
]);

export const ShutdownSchema = z
  .object({
    /**
     * On SIGTERM, calls in flight get this long to finish (new sessions and calls are refused with
     * SHUTTING_DOWN meanwhile); the rest are cancelled with SHUTTING_DOWN, answered to the agent.
     */
    drainSeconds: z.number().min(0).max(3600).default(20),
  })
  .strict();

export const AuditSchema = z
  .object({
    /** JSONL file; omit for no log (records are sealed and the console shows the latest; none are kept). */
    file: z.string().min(1).optional(),
    durability: z.enum(['per-record', 'batched']).default('per-record'),
    /** When true, a tool call's response waits until its audit record is durable. */
    flushBeforeResponse: z.boolean().default(true),
    /**
     * Rotate the file by size and/or at each UTC hour or day; the hash chain continues across files.
     * Needs `file`.
     */
    rotate: z
      .object({
        maxBytes: z.number().int().min(4096).optional(),
        every: z.enum(['hour', 'day']).optional(),
      })
      .strict()
      .refine((r) => r.maxBytes !== undefined || r.every !== undefined, 'set maxBytes, every, or both')
      .optional(),
    /** Also write each durable record as one JSON line to stdout, for a log shipper / SIEM. */
    export: z.enum(['stdout']).optional(),
  })
  .strict()
  .refine((a) => a.file !== undefined || (a.rotate === undefined && a.export === undefined), {
    message: 'audit.rotate and audit.export need audit.file',
  });

export const CredentialsSchema = z
  .object({
    /**
     * Signing key for task tokens and call credentials (PKCS#8 PEM or private JWK, as a secret reference).
     * Without it, a development key set is generated on first start and kept in `devKeyDir`.
     */
    signingKey: SecretRefSchema.optional(),
    /** Earlier keys still accepted until `retiresAt` (rotation with overlap). */
    previousKeys: z.array(z.object({ key: SecretRefSchema, retiresAt: z.string().datetime() }).strict()).default([]),
    algorithm: z.enum(['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256']).default('ES256'),
    devKeyDir: z.string().min(1).default('./.portcullis/keys'),
    /**
     * HMAC key (at least 32 bytes, as a secret reference) that seals request states and task handles of
     * 2026-07-28 agents; the same on every instance. Without it, a development key is kept in `devKeyDir`.
     */
    stateSealingKey: SecretRefSchema.optional(),
    /** Lifetime of call credentials (capped at 300 s; elevated calls at 900 s). */
    callTtlSeconds: z.number().int().min(10).max(300).default(300),
    elevatedTtlSeconds: z.number().int().min(10).max(900).default(900),
  })
  .strict();

export const TasksSchema = z
  .object({
    defaultTtlSeconds: z.number().int().min(10).max(86_400).default(300),
    maxTtlSeconds: z
      .number()
      .int()
      .min(10)
      .max(7 * 86_400)
      .default(3600),
  })
  .strict();

export const OAuthSchema = z
  .object({
    issuer: z.string().url(),
    jwksUrl: z.string().url().superRefine(hostWithoutTrailingDot),
    /** Defaults to the gateway's resource URL (`http.publicUrl` + /mcp). */
    audience: z.string().min(1).optional(),
    algorithms: z.array(z.string().min(2)).min(1).default(['RS256', 'ES256']),
    /** The `typ` header every token must carry (e.g. `at+jwt`, RFC 9068); not checked when omitted. */
    typ: z.string().min(1).optional(),
    agentIdClaim: z.string().min(1).default('sub'),
    rolesClaim: z.string().min(1).optional(),
    tenantClaim: z.string().min(1).optional(),
    scopeClaim: z.string().min(1).default('scope'),
    requiredScopes: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const SpiffeSchema = z
  .object({
    /** JWKS file of the trust domain (JWT-SVID bundle). */
    trustBundle: z.string().min(1),
    audience: z.string().min(1),
    trustDomains: z.array(z.string().min(1)).default([]),
    /** SPIFFE id -> agent id. */
    agents: z.record(z.string().regex(/^spiffe:\/\//, 'expected a spiffe:// id'), IdSchema),
  })
  .strict();

export const IntrospectionClientSchema = z
  .object({
    id: IdSchema,
    secret: ApiKeySchema,
    /**
     * Audiences (backend `jwt` audiences) whose call credentials this client may introspect; a credential
     * minted for any other audience is answered `{ "active": false }`. Omitted: every call credential.
     */
    audiences: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();

export const AuthSchema = z
  .object({
    oauth: OAuthSchema.optional(),
    spiffe: SpiffeSchema.optional(),
    /** Backends that check call credentials live (RFC 7662), with their client secrets. */
    introspectionClients: z.array(IntrospectionClientSchema).default([]),
  })
  .strict();

/** How the gateway authenticates to one backend on the agent's behalf; the agent never sees it. */
export const BackendCredentialSchema = z.discriminatedUnion('type', [
  /** A just-in-time call credential (JWT) with `aud` = this audience, verified by the backend against our JWKS. */
  z.object({ type: z.literal('jwt'), audience: z.string().min(1) }).strict(),
  z.object({ type: z.literal('bearer'), secret: SecretRefSchema }).strict(),
  z
    .object({
      type: z.literal('header'),
      name: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'expected an HTTP header name'),
      secret: SecretRefSchema,
    })
    .strict(),
  z.object({ type: z.literal('basic'), username: z.string().min(1), password: SecretRefSchema }).strict(),
]);

export const TelemetrySchema = z
  .object({
    enabled: z.boolean().default(false),
    serviceName: z.string().min(1).default('portcullis'),
    /** OTLP/HTTP base endpoint, e.g. http://127.0.0.1:4318; OTEL_EXPORTER_OTLP_ENDPOINT wins when set. */
    otlpEndpoint: z.string().url().optional(),
    sampleRatio: z.number().min(0).max(1).default(1),
    /** Record tool arguments and results on spans (redacted). Off by default. */
    recordArguments: z.boolean().default(false),
    /** Jaeger UI base URL for trace links in the console. */
    jaegerUiUrl: z.string().url().optional(),
  })
  .strict();

export const MetricsSchema = z
  .object({
    /**
     * Serve `/metrics` on a listener of its own (e.g. an internal interface for the scraper) instead of the
     * gateway's listener, where it then answers 404.
     */
    listen: z
      .object({ host: HostSchema, port: z.number().int().min(0).max(65535) })
      .strict()
      .optional(),
    /**
     * Bearer token the scraper must present (`Authorization: Bearer <token>`), on whichever listener serves
     * `/metrics`. Required when the gateway listens beyond loopback and `listen` is not set.
     */
    token: ApiKeySchema.optional(),
  })
  .strict();

/** Operational limits; each has a default that suits one gateway in front of a few backends. */
export const LimitsSchema = z
  .object({
    /** Upper bound for one tool call through the pipeline, whatever the connector's own timeouts. */
    callTimeoutMs: z.number().int().min(100).max(3_600_000).default(120_000),
    /** Deadline for one catalog listing request (tools, resources, prompts) to a backend. */
    catalogRequestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    /** Lifetime of the implicit task an MCP session gets when its credential names none. */
    sessionTaskTtlSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 86_400)
      .default(86_400),
    /**
     * How long the implicit task of a 2026-07-28 request without a task token or task handle lives past
     * the last request that echoed its handle (at most `sessionTaskTtlSeconds` from its start), and never
     * less than `approvals.pendingTtlSeconds` plus `approvals.maxGrantSeconds`.
     */
    requestTaskIdleSeconds: z.number().int().min(60).max(86_400).default(1800),
    /**
     * Open implicit tasks of 2026-07-28 requests per agent (per instance): one more ends the task whose
     * handle that agent used least recently.
     */
    maxRequestTasksPerAgent: z.number().int().min(1).max(1_000_000).default(10_000),
    /** How often the pending-approvals gauge is read from the approval queue. */
    approvalsGaugeIntervalSeconds: z.number().int().min(1).max(3600).default(15),
    /** Upper bound for one long-lived event stream to an upstream MCP server. */
    upstreamStreamTimeoutSeconds: z
      .number()
      .int()
      .min(60)
      .max(30 * 86_400)
      .default(7 * 86_400),
  })
  .strict();

/** Tool integrity: what happens to an upstream MCP tool the gateway sees for the first time. */
export const IntegritySchema = z
  .object({
    /**
     * `trust`: pin it as listed (flags still reach policy); `quarantine-flagged`: hold a new tool whose
     * definition analysis raised a flag until an operator approves it; `quarantine-all`: hold every new tool.
     */
    firstSight: z.enum(['trust', 'quarantine-flagged', 'quarantine-all']).default('quarantine-flagged'),
  })
  .strict();

export const GatewayConfigSchema = z
  .object({
    listen: ListenSchema.default({ host: '127.0.0.1', port: 8787 }),
    http: HttpEdgeSchema.default({
      allowedOrigins: [],
      allowedHosts: [],
      maxRequestBytes: 1024 * 1024,
      responseMode: 'auto',
      sessionIdleSeconds: 1800,
      maxSessionsPerAgent: 256,
      requestTimeoutSeconds: 30,
    }),
    connectors: z.array(ConnectorConfigSchema).default([]),
    connectorLimits: ConnectorLimitsSchema.default({ maxConcurrent: 64, maxQueued: 128 }),
    agents: z.array(AgentSchema).default([]),
    operators: z.array(OperatorSchema).default([]),
    approvals: ApprovalsSchema.default({
      mode: 'wait',
      waitSeconds: 120,
      pendingTtlSeconds: 900,
      maxGrantSeconds: 900,
      requireApproveReason: false,
      offerRequestTool: false,
    }),
    credentials: CredentialsSchema.default({
      previousKeys: [],
      algorithm: 'ES256',
      devKeyDir: './.portcullis/keys',
      callTtlSeconds: 300,
      elevatedTtlSeconds: 900,
    }),
    tasks: TasksSchema.default({ defaultTtlSeconds: 300, maxTtlSeconds: 3600 }),
    auth: AuthSchema.default({ introspectionClients: [] }),
    /** Connector id -> how the gateway authenticates to that backend. */
    backendCredentials: z.record(z.string(), BackendCredentialSchema).default({}),
    egress: EgressSchema.default({
      connectors: {},
      gateway: {},
      maxRedirects: 5,
      maxResponseBytes: 10 * 1024 * 1024,
      timeoutMs: 30_000,
    }),
    integrity: IntegritySchema.default({ firstSight: 'quarantine-flagged' }),
    policy: PolicyFilesSchema.default({ files: [], shadow: [], watch: true, settleMs: 2000 }),
    stores: StoresSchema.default({ kind: 'memory' }),
    audit: AuditSchema.default({ durability: 'per-record', flushBeforeResponse: true }),
    shutdown: ShutdownSchema.default({ drainSeconds: 20 }),
    metrics: MetricsSchema.default({}),
    telemetry: TelemetrySchema.default({
      enabled: false,
      serviceName: 'portcullis',
      sampleRatio: 1,
      recordArguments: false,
    }),
    limits: LimitsSchema.default({
      callTimeoutMs: 120_000,
      catalogRequestTimeoutMs: 30_000,
      sessionTaskTtlSeconds: 86_400,
      requestTaskIdleSeconds: 1800,
      maxRequestTasksPerAgent: 10_000,
      approvalsGaugeIntervalSeconds: 15,
      upstreamStreamTimeoutSeconds: 7 * 86_400,
    }),
  })
  .strict();

export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;
export type AgentConfig = z.infer<typeof AgentSchema>;
export type OperatorConfig = z.infer<typeof OperatorSchema>;
export type ApprovalsConfig = z.infer<typeof ApprovalsSchema>;
export type LimitsConfig = z.infer<typeof LimitsSchema>;
export type ConnectorConfig = z.infer<typeof ConnectorConfigSchema>;
export type BackendCredentialConfig = z.infer<typeof BackendCredentialSchema>;
