/**
 * Runs the gateway as its users do (`portcullis start --config FILE` in a child process, see
 * test/fixtures/gateway-process.ts), with a temp config that names one agent and its freshly generated API key.
 *
 * Shared by the conformance test, `scripts/conformance.ts` and the benchmark harness.
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  startGatewayProcess as startFixtureGatewayProcess,
  type GatewayProcess as FixtureGatewayProcess,
} from '../fixtures/gateway-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `node --import <tsx> script args...` as a connector command: absolute paths, independent of cwd. */
export function tsxCommand(
  script: string,
  args: readonly string[] = [],
): { command: string; args: string[]; cwd: string } {
  return { command: process.execPath, args: ['--import', import.meta.resolve('tsx'), script, ...args], cwd: ROOT };
}

/** The roles of the one agent the config names (what a policy for that agent's calls can match on). */
export const AGENT_ROLES: readonly string[] = ['tester'];

export interface GatewayProcessOptions {
  /** Config without `listen`, `agents` and `audit`; those are filled in. */
  config: Record<string, unknown>;
  agentId?: string;
  /** Give up waiting for the ready line after this long (default 30 s). */
  readyTimeoutMs?: number;
  /** Audit settings beside the file (default: the product defaults); `false`: no audit file at all. */
  audit?: Record<string, unknown> | false;
  /** Node options placed before the CLI (e.g. `--cpu-prof`). */
  nodeArgs?: readonly string[];
  /** Extra environment for the gateway (on top of PATH and HOME only). */
  env?: Record<string, string>;
  /** Run this compiled command (a `bin/portcullis.js` over its built `dist/`) instead of the sources. */
  compiledCli?: string;
}

export interface GatewayProcess {
  /** `http://127.0.0.1:<port>/mcp` as printed by the CLI. */
  url: string;
  /** The agent's API key (Bearer credential). */
  key: string;
  agentId: string;
  dir: string;
  auditFile: string;
  /** The gateway's process id (for memory readings). */
  pid: number | undefined;
  /** What the gateway wrote to stdout so far (its ready line; a Node trace option's output). */
  stdout(): string;
  /** What the gateway wrote to stderr so far (for failure messages). */
  stderr(): string;
  close(): Promise<void>;
}

export class GatewayStartError extends Error {
  readonly code = 'GATEWAY_START_FAILED';
  override readonly name = 'GatewayStartError';
}

export async function startGatewayProcess(options: GatewayProcessOptions): Promise<GatewayProcess> {
  const agentId = options.agentId ?? 'conformance-agent';
  const key = `pc_${randomBytes(32).toString('base64url')}`;
  let auditFile = '';
  let gateway: FixtureGatewayProcess;
  try {
    gateway = await startFixtureGatewayProcess({
      config: (dir) => {
        auditFile = path.join(dir, 'audit.jsonl');
        return {
          listen: { host: '127.0.0.1', port: 0 },
          ...options.config,
          agents: [
            {
              id: agentId,
              roles: [...AGENT_ROLES],
              apiKeys: [{ sha256: createHash('sha256').update(key).digest('hex') }],
              tools: ['*'],
              resources: ['**'],
              prompts: ['*'],
            },
          ],
          ...(options.audit === false ? {} : { audit: { file: auditFile, ...options.audit } }),
        };
      },
      ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
      ...(options.nodeArgs !== undefined ? { nodeArgs: options.nodeArgs } : {}),
      ...(options.env !== undefined ? { env: options.env } : {}),
      ...(options.compiledCli !== undefined ? { compiledCli: options.compiledCli } : {}),
    });
  } catch (error) {
    throw new GatewayStartError(error instanceof Error ? error.message : String(error), { cause: error });
  }
  return {
    url: gateway.mcpUrl,
    key,
    agentId,
    dir: gateway.dir,
    auditFile,
    pid: gateway.child.pid,
    stdout: gateway.stdout,
    stderr: gateway.stderr,
    close: gateway.close,
  };
}
