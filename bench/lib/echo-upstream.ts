/**
 * The upstream every gateway of the benchmarks serves, the echo server (bench/echo-server.ts), and the
 * configuration `npm run bench` runs `portcullis` with, for the scripts that start a gateway of their own.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsxCommand } from '../../test/conformance/gateway-process.js';
import { closedPort } from '../../test/fixtures/gateway-process.js';

export const ECHO_SERVER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'echo-server.ts');

/** The echo server as the stdio connector `echo` (its tool is `echo_echo`). */
export function echoConnector(): Record<string, unknown> {
  return { id: 'echo', kind: 'mcp', transport: 'stdio', ...tsxCommand(ECHO_SERVER) };
}

/**
 * `portcullis` as the benchmarks run it: the echo connector, and tracing on to a collector nobody listens on
 * (spans are built and their export fails), or off with `tracing: false`.
 */
export async function benchGatewayConfig(options: { tracing?: boolean } = {}): Promise<Record<string, unknown>> {
  return {
    connectors: [echoConnector()],
    telemetry: { enabled: options.tracing ?? true, otlpEndpoint: `http://127.0.0.1:${await closedPort()}` },
  };
}
