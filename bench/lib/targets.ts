/**
 * The things the benchmark compares, each fronting the same echo server:
 *
 *   direct               the echo server itself over Streamable HTTP (its own process)
 *   passthrough          a bare node:http reverse proxy (bench/passthrough.ts) in front of that echo server:
 *                        what one HTTP hop costs by itself
 *   mcp-proxy            the npm `mcp-proxy` package (its CLI) spawning the echo server over stdio
 *   portcullis           the gateway (`portcullis start`) with its defaults: the echo server as a stdio
 *                        connector, an agent API key, the policy decision, the write-ahead audit log synced
 *                        per record and before the response, and tracing configured with an OTLP endpoint
 *                        nobody listens on (so spans are built and their export fails quietly)
 *   portcullis-noflush   the same with `audit.flushBeforeResponse: false`
 *   portcullis-noaudit   the same with no audit file (records sealed, none written or kept)
 *   portcullis-notrace   the same with tracing off (`telemetry.enabled: false`)
 *   portcullis-10k-rules the same with a policy file of 10,000 rules (lib/large-policy.ts); the bench reads
 *                        how long its decisions took from its `/metrics`
 *   portcullis-oauth     the same with the agent presenting an OAuth access token (an RS256 JWT of a day's
 *                        lifetime) from an identity provider the bench runs (test/fixtures/idp.ts), instead
 *                        of an API key
 *   portcullis-redis     the same with its state in Redis (`stores.kind: redis`), as a deployment of several
 *                        instances keeps it: a private redis-server the bench starts on a free loopback port
 *                        (redis-server on the PATH), which keeps nothing on disk
 *   portcullis-baseline  `portcullis` as built in another checkout (`--baseline DIR`), to measure a change
 *                        against the code before it in one run
 *   <variant>-baseline   any of the gateway's configurations above as built in that other checkout
 *                        (`portcullis-10k-rules-baseline`, `portcullis-noaudit-baseline`, ...): a change to
 *                        the path that configuration takes, against the code before it
 *
 * Everything listens on 127.0.0.1 only.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGatewayProcess, tsxCommand, type GatewayProcessOptions } from '../../test/conformance/gateway-process.js';
import { CLI_COMPILED } from '../../test/fixtures/gateway-process.js';
import { startIdp, type Idp } from '../../test/fixtures/idp.js';
import { startTestRedisServer, type TestRedisServer } from '../../test/helpers/redis-server.js';
import { benchGatewayConfig, ECHO_SERVER } from './echo-upstream.js';
import { writeLargePolicyFile } from './large-policy.js';
import type { LoadOptions } from './load.js';
import { freePort, spawnUntilLine, spawnUntilListening } from './processes.js';
import {
  isBaselineTarget,
  variantOf,
  type BaselineTarget,
  type PortcullisVariant,
  type TargetName,
} from './target-names.js';

export type { TargetName } from './target-names.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PASSTHROUGH = path.join(ROOT, 'bench', 'passthrough.ts');
const MCP_PROXY_BIN = path.join(ROOT, 'node_modules', 'mcp-proxy', 'dist', 'bin', 'mcp-proxy.mjs');

export const DEFAULT_TARGETS: readonly TargetName[] = ['direct', 'passthrough', 'mcp-proxy', 'portcullis'];

export interface Target {
  name: TargetName;
  url: string;
  headers?: Record<string, string>;
  /** The echo tool's name as this target exposes it. */
  tool: string;
  /** The process serving the URL (not the stdio upstream behind a proxy): its CPU time is measured. */
  pid?: number;
  /** Where CPU profiles go when started with `profileDir`. */
  profileDir?: string;
  /** Portcullis' `/metrics`, where the bench reads how it wrote its audit log. */
  metricsUrl?: string;
  /** The Redis a target keeps its state in (`portcullis-redis`), stopped with the target. */
  redisUrl?: string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Run the gateway from its sources through tsx instead of the compiled command (default: compiled). */
  fromSource?: boolean;
  /**
   * Record a CPU profile (`node --cpu-prof`) of the process serving the URL into a folder of the target's own
   * under this one: the gateway's, and `mcp-proxy`'s (not the echo server behind it).
   */
  profileDir?: string;
  /** The checkout (with a built dist/) that the baseline targets run. */
  baselineDir?: string;
  /**
   * Node flags for the baseline targets after those on their command's first line, and environment for them:
   * with the same checkout as `baselineDir`, a runtime flag or setting measured against the same build.
   */
  baselineNodeFlags?: readonly string[];
  baselineEnv?: Readonly<Record<string, string>>;
}

export async function startTarget(name: TargetName, options: StartOptions = {}): Promise<Target> {
  switch (name) {
    case 'direct': {
      const child = await startHttpEcho();
      return { name, url: child.match, tool: 'echo', ...pidOf(child.process.pid), close: () => child.stop() };
    }
    case 'passthrough': {
      const upstream = await startHttpEcho();
      try {
        const proxy = tsxCommand(PASSTHROUGH, ['--upstream', new URL(upstream.match).origin]);
        const child = await spawnUntilLine(
          proxy.command,
          proxy.args,
          /Pass-through listening on (http:\/\/\S+)/,
          proxy.cwd,
        );
        return {
          name,
          url: `${child.match}${new URL(upstream.match).pathname}`,
          tool: 'echo',
          ...pidOf(child.process.pid),
          close: async () => {
            await child.stop();
            await upstream.stop();
          },
        };
      } catch (error) {
        await upstream.stop();
        throw error;
      }
    }
    case 'mcp-proxy': {
      const port = await freePort();
      const echo = tsxCommand(ECHO_SERVER);
      // The peer is profiled as the gateway is, so that the two profiles of a cell compare frame by frame.
      const profileDir = profileDirOf(name, options);
      const args = [
        ...profilerArgs(profileDir),
        MCP_PROXY_BIN,
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--server',
        'stream',
        '--',
        echo.command,
        ...echo.args,
      ];
      const child = await spawnUntilListening(process.execPath, args, port, ROOT);
      return {
        name,
        url: `http://127.0.0.1:${port}/mcp`,
        tool: 'echo',
        ...pidOf(child.process.pid),
        ...(profileDir !== undefined ? { profileDir } : {}),
        close: () => child.stop(),
      };
    }
    default:
      return startPortcullis(name, options);
  }
}

/** The echo server over HTTP, as `direct` serves it and `passthrough` forwards to it. */
function startHttpEcho(): ReturnType<typeof spawnUntilLine> {
  const echo = tsxCommand(ECHO_SERVER, ['--http']);
  return spawnUntilLine(echo.command, echo.args, /Echo server listening on (http:\/\/\S+)/, echo.cwd);
}

/** A target's own folder in the profile folder, when profiling. */
function profileDirOf(name: TargetName, options: StartOptions): string | undefined {
  return options.profileDir !== undefined ? path.join(options.profileDir, name) : undefined;
}

/** Node's flags that write the process' CPU profile into `profileDir` as it exits (none without one). */
function profilerArgs(profileDir: string | undefined): string[] {
  return profileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
}

async function startPortcullis(name: PortcullisVariant | BaselineTarget, options: StartOptions): Promise<Target> {
  const profileDir = profileDirOf(name, options);
  const variant = variantOf(name);
  const policy = variant === 'portcullis-10k-rules' ? await writeLargePolicyFile() : undefined;
  const idp = variant === 'portcullis-oauth' ? await startIdp() : undefined;
  let redis: TestRedisServer | undefined;
  let gateway: Awaited<ReturnType<typeof startGatewayProcess>>;
  try {
    if (variant === 'portcullis-redis') redis = await startTestRedisServer();
    gateway = await startGatewayProcess({
      agentId: BENCH_AGENT,
      config: {
        ...(await benchGatewayConfig({ tracing: variant !== 'portcullis-notrace' })),
        ...(policy !== undefined ? { policy: { files: [policy.file], watch: false } } : {}),
        ...(idp !== undefined ? oauthConfigOf(idp) : {}),
        ...(redis !== undefined ? { stores: { kind: 'redis', url: redis.url } } : {}),
      },
      ...(variant === 'portcullis-noflush' ? { audit: { flushBeforeResponse: false } } : {}),
      ...(variant === 'portcullis-noaudit' ? { audit: false as const } : {}),
      ...launchOf(name, profileDir, options),
    });
  } catch (error) {
    await policy?.remove();
    await idp?.close();
    await redis?.stop();
    throw error;
  }
  const bearer = idp !== undefined ? await accessTokenOf(idp) : gateway.key;
  return {
    name,
    url: gateway.url,
    headers: { Authorization: `Bearer ${bearer}` },
    tool: 'echo_echo',
    metricsUrl: new URL('/metrics', gateway.url).href,
    ...(redis !== undefined ? { redisUrl: redis.url } : {}),
    ...(gateway.pid !== undefined ? { pid: gateway.pid } : {}),
    ...(profileDir !== undefined ? { profileDir } : {}),
    close: async () => {
      await gateway.close();
      await policy?.remove();
      await idp?.close();
      await redis?.stop();
    },
  };
}

const BENCH_AGENT = 'bench-agent';
/** The audience the benchmark's access tokens name, and the gateway requires. */
const OAUTH_AUDIENCE = 'urn:portcullis:bench';

/** The gateway's settings for the benchmark's identity provider (its JWKS is on loopback). */
function oauthConfigOf(idp: Idp): Record<string, unknown> {
  return {
    auth: { oauth: { issuer: idp.issuer, jwksUrl: idp.jwksUrl, audience: OAUTH_AUDIENCE, algorithms: ['RS256'] } },
    egress: { gateway: { oauthJwks: { allowPrivate: ['loopback'] } } },
  };
}

/** An access token for the benchmark's agent that outlasts any run. */
function accessTokenOf(idp: Idp): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return idp.mint({ claims: { sub: BENCH_AGENT, aud: OAUTH_AUDIENCE, iat: now, exp: now + 86_400 } });
}

/**
 * How a Portcullis target's process starts, beyond its configuration: the command (compiledCliOf), Node flags
 * after the command's own (the profiler's, then the baseline's), and environment (the baseline's).
 */
function launchOf(
  name: TargetName,
  profileDir: string | undefined,
  options: StartOptions,
): Pick<GatewayProcessOptions, 'nodeArgs' | 'env' | 'compiledCli'> {
  const baseline = isBaselineTarget(name);
  const nodeArgs = [...profilerArgs(profileDir), ...(baseline ? (options.baselineNodeFlags ?? []) : [])];
  return {
    ...(nodeArgs.length > 0 ? { nodeArgs } : {}),
    ...(baseline && options.baselineEnv !== undefined ? { env: { ...options.baselineEnv } } : {}),
    ...compiledCliOf(name, options),
  };
}

/**
 * What a load on a target's echo tool takes from the target: its URL and credential, the tool's name, and the
 * text every call sends and expects back.
 */
export function echoLoadOf(
  target: Target,
  text: string,
): Pick<LoadOptions, 'url' | 'headers' | 'tool' | 'args' | 'expectText'> {
  return {
    url: target.url,
    ...(target.headers !== undefined ? { headers: target.headers } : {}),
    tool: target.tool,
    args: { text },
    expectText: text,
  };
}

/** Which compiled command runs the target (none: the sources through tsx). */
function compiledCliOf(name: TargetName, options: StartOptions): { compiledCli?: string } {
  if (isBaselineTarget(name)) {
    if (options.baselineDir === undefined) throw new Error(`${name} needs --baseline DIR`);
    return { compiledCli: path.join(path.resolve(options.baselineDir), 'bin', 'portcullis.js') };
  }
  return options.fromSource === true ? {} : { compiledCli: CLI_COMPILED };
}

function pidOf(pid: number | undefined): { pid?: number } {
  return pid !== undefined ? { pid } : {};
}

/** The `.cpuprofile` files in a target's profile folder (written when the process exits). */
export async function profilesOf(target: Target): Promise<string[]> {
  if (target.profileDir === undefined) return [];
  const dir = target.profileDir;
  const files = await readdir(dir).catch(() => [] as string[]);
  return files.filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f));
}
