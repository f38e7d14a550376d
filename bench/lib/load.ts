/**
 * The load generator: N concurrent MCP sessions (SDK `Client` + `StreamableHTTPClientTransport`), each
 * calling one tool back to back. Sessions are opened and warmed up before the clock starts; the measured
 * phase ends when every session has made its calls or the time budget is spent, whichever comes first.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { summarize, type Summary } from './stats.js';

export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  tool: string;
  args: Record<string, unknown>;
  /** What a correct result's first text block holds (anything else counts as an error). */
  expectText: string;
  sessions: number;
  warmupCalls: number;
  callsPerSession: number;
  /** Time budget of the measured phase; calls still in flight finish, no new ones start. */
  maxSeconds: number;
}

export interface LoadResult extends Summary {
  sessions: number;
  /** True when the time budget ended the phase before every call was made. */
  truncated: boolean;
  /** First error seen, for the report (never contains credentials: only the tool's own message). */
  firstError?: string;
}

async function openSession(options: LoadOptions, index: number): Promise<Client> {
  const client = new Client({ name: `bench-session-${index}`, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(
    new URL(options.url),
    options.headers === undefined ? undefined : { requestInit: { headers: options.headers } },
  );
  await client.connect(transport);
  return client;
}

/** One call; resolves to an error message, or undefined when the result is the expected one. */
async function call(client: Client, options: LoadOptions): Promise<string | undefined> {
  try {
    const result = await client.callTool({ name: options.tool, arguments: options.args });
    const first = (result.content as { type: string; text?: string }[] | undefined)?.[0];
    if (result.isError === true) return `tool error: ${first?.text ?? 'no message'}`;
    if (first?.type !== 'text' || first.text !== options.expectText) return 'unexpected result';
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const clients = await Promise.all(Array.from({ length: options.sessions }, (_, i) => openSession(options, i)));
  try {
    await Promise.all(
      clients.map(async (client) => {
        for (let i = 0; i < options.warmupCalls; i += 1) await call(client, options);
      }),
    );

    const latencies: number[] = [];
    let errors = 0;
    let firstError: string | undefined;
    let truncated = false;
    const deadline = performance.now() + options.maxSeconds * 1000;
    const started = performance.now();
    await Promise.all(
      clients.map(async (client) => {
        for (let i = 0; i < options.callsPerSession; i += 1) {
          if (performance.now() >= deadline) {
            truncated = true;
            return;
          }
          const t0 = performance.now();
          const error = await call(client, options);
          const elapsed = performance.now() - t0;
          if (error === undefined) latencies.push(elapsed);
          else {
            errors += 1;
            firstError ??= error;
          }
        }
      }),
    );
    const wallMs = performance.now() - started;
    return {
      ...summarize(latencies, errors, wallMs),
      sessions: options.sessions,
      truncated,
      ...(firstError !== undefined ? { firstError } : {}),
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }
}
