/**
 * Configuration of an `mcp` connector: one upstream MCP server, reached over stdio (a child process the
 * connector owns) or Streamable HTTP. Parsed once at the edge with strict schemas, so a typo never passes
 * silently.
 */
import { z } from 'zod';
import { CONNECTOR_ID_PATTERN } from '../contract.js';
import { configuredHostProblem, routingHeaderProblem } from '../request-hygiene.js';

const IdSchema = z.string().regex(CONNECTOR_ID_PATTERN, 'expected a connector id: ^[a-z][a-z0-9-]{0,31}$');
const RequestTimeoutSchema = z.number().int().min(1).max(3_600_000).default(60_000);

/** Restart policy for a stdio child that exits: jittered exponential backoff, capped. */
export const McpRestartSchema = z
  .object({
    initialDelayMs: z.number().int().min(1).max(600_000).default(200),
    maxDelayMs: z.number().int().min(1).max(3_600_000).default(30_000),
    /** Give up (state `closed`) after this many restarts over the connector's life; unlimited when absent. */
    maxRestarts: z.number().int().min(0).optional(),
  })
  .strict()
  .refine((r) => r.maxDelayMs >= r.initialDelayMs, { message: 'maxDelayMs must be >= initialDelayMs' });

export const McpStdioConfigSchema = z
  .object({
    id: IdSchema,
    kind: z.literal('mcp'),
    /** Readiness of the gateway depends on this connector (default false: its outage only fails its own calls). */
    required: z.boolean().default(false),
    transport: z.literal('stdio'),
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    /**
     * The child's environment on top of a minimal inherited base (PATH, HOME, USER, LOGNAME, SHELL, TERM);
     * the gateway's own environment is never passed on wholesale.
     */
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'), z.string())
      .default({}),
    cwd: z.string().min(1).optional(),
    restart: McpRestartSchema.default({ initialDelayMs: 200, maxDelayMs: 30_000 }),
    requestTimeoutMs: RequestTimeoutSchema,
  })
  .strict();

export const McpHttpConfigSchema = z
  .object({
    id: IdSchema,
    kind: z.literal('mcp'),
    /** Readiness of the gateway depends on this connector (default false: its outage only fails its own calls). */
    required: z.boolean().default(false),
    transport: z.literal('http'),
    url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).superRefine((url, ctx) => {
      const problem = configuredHostProblem(url);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `url ${problem}` });
    }),
    /** Static, non-secret headers sent with every request (credentials come from the gateway's fetch). */
    headers: z
      .record(z.string().min(1), z.string())
      .default({})
      .superRefine((headers, ctx) => {
        for (const name of Object.keys(headers)) {
          const problem = routingHeaderProblem(name);
          if (problem !== undefined)
            ctx.addIssue({ code: 'custom', path: [name], message: `header "${name}" cannot be set: ${problem}` });
        }
      }),
    requestTimeoutMs: RequestTimeoutSchema,
  })
  .strict();

export const McpConnectorConfigSchema = z.discriminatedUnion('transport', [McpStdioConfigSchema, McpHttpConfigSchema]);

export type McpConnectorConfig = z.infer<typeof McpConnectorConfigSchema>;
export type McpConnectorConfigInput = z.input<typeof McpConnectorConfigSchema>;
export type McpStdioConfig = z.infer<typeof McpStdioConfigSchema>;
export type McpHttpConfig = z.infer<typeof McpHttpConfigSchema>;
export type McpRestartConfig = z.infer<typeof McpRestartSchema>;
