/**
 * Runs the gateway as its users do: `portcullis start --config FILE` in a child process, with a temp
 * config that names one agent and its freshly generated API key. Ready when the CLI prints
 * `Portcullis listening on http://HOST:PORT/mcp`; SIGTERM shuts it down.
 *
 * Shared by the conformance test, `scripts/conformance.ts` and the benchmark harness.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'bin', 'portcullis.js');
const CLI_SOURCE = path.join(ROOT, 'gateway', 'cli', 'main.ts');
const READY = /^Portcullis listening on (http:\/\/\S+\/mcp)\s*$/m;

/** The gateway's CLI is present in this tree. */
export function gatewayCliAvailable(): boolean {
  return existsSync(CLI_SOURCE) && existsSync(CLI);
}

/** `node --import <tsx> script args...` as a connector command: absolute paths, independent of cwd. */
export function tsxCommand(script: string, args: readonly string[] = []): { command: string; args: string[]; cwd: string } {
  return { command: process.execPath, args: ['--import', import.meta.resolve('tsx'), script, ...args], cwd: ROOT };
}

export interface GatewayProcessOptions {
  /** Config without `listen`, `agents` and `audit`; those are filled in. */
  config: Record<string, unknown>;
  agentId?: string;
  /** Give up waiting for the ready line after this long (default 30 s). */
  readyTimeoutMs?: number;
}

export interface GatewayProcess {
  /** `http://127.0.0.1:<port>/mcp` as printed by the CLI. */
  url: string;
  /** The agent's API key (Bearer credential). */
  key: string;
  agentId: string;
  dir: string;
  auditFile: string;
  /** What the gateway wrote to stderr so far (for failure messages). */
  stderr(): string;
  close(): Promise<void>;
}

export class GatewayStartError extends Error {
  readonly code = 'GATEWAY_START_FAILED';
  override readonly name = 'GatewayStartError';
}

export async function startGatewayProcess(options: GatewayProcessOptions): Promise<GatewayProcess> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-cli-'));
  const agentId = options.agentId ?? 'conformance-agent';
  const key = `pc_${randomBytes(32).toString('base64url')}`;
  const auditFile = path.join(dir, 'audit.jsonl');
  const config = {
    listen: { host: '127.0.0.1', port: 0 },
    ...options.config,
    agents: [{ id: agentId, roles: ['tester'], apiKeys: [{ sha256: createHash('sha256').update(key).digest('hex') }], tools: ['*'] }],
    audit: { file: auditFile },
  };
  const configFile = path.join(dir, 'portcullis.yaml');
  await writeFile(configFile, stringify(config));

  const child = spawn(process.execPath, [CLI, 'start', '--config', configFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-20_000)));

  const cleanup = async (): Promise<void> => {
    await stop(child);
    await rm(dir, { recursive: true, force: true });
  };

  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new GatewayStartError(`gateway not ready after ${options.readyTimeoutMs ?? 30_000} ms`)), options.readyTimeoutMs ?? 30_000);
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        const match = READY.exec(stdout);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new GatewayStartError(`gateway exited before it was ready (code ${code}, signal ${signal})`));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } catch (error) {
    await cleanup();
    const message = error instanceof Error ? error.message : String(error);
    throw new GatewayStartError(`${message}\n--- gateway stderr ---\n${stderr}`);
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  child.stdout.resume();

  return { url, key, agentId, dir, auditFile, stderr: () => stderr, close: cleanup };
}

/** SIGTERM, then SIGKILL if it has not exited within 5 s. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
