/**
 * The three things the benchmark compares, each fronting the same echo server:
 *
 *   direct      the echo server itself over Streamable HTTP (its own process)
 *   mcp-proxy   the npm `mcp-proxy` package (its CLI) spawning the echo server over stdio
 *   portcullis  the gateway (`portcullis start`) with the echo server as a stdio connector, an agent
 *               key, the default policy path and the audit log on
 *
 * Everything listens on 127.0.0.1 only.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGatewayProcess, tsxCommand } from '../../test/conformance/gateway-process.js';
import { freePort, spawnUntilLine, spawnUntilListening } from './processes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ECHO_SERVER = path.join(ROOT, 'bench', 'echo-server.ts');
const MCP_PROXY_BIN = path.join(ROOT, 'node_modules', 'mcp-proxy', 'dist', 'bin', 'mcp-proxy.mjs');

export type TargetName = 'direct' | 'mcp-proxy' | 'portcullis';
export const TARGET_NAMES: readonly TargetName[] = ['direct', 'mcp-proxy', 'portcullis'];

export interface Target {
  name: TargetName;
  url: string;
  headers?: Record<string, string>;
  /** The echo tool's name as this target exposes it. */
  tool: string;
  close(): Promise<void>;
}

export async function startTarget(name: TargetName): Promise<Target> {
  switch (name) {
    case 'direct': {
      const echo = tsxCommand(ECHO_SERVER, ['--http']);
      const child = await spawnUntilLine(echo.command, echo.args, /Echo server listening on (http:\/\/\S+)/, echo.cwd);
      return { name, url: child.match, tool: 'echo', close: () => child.stop() };
    }
    case 'mcp-proxy': {
      const port = await freePort();
      const echo = tsxCommand(ECHO_SERVER);
      const args = [
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
      return { name, url: `http://127.0.0.1:${port}/mcp`, tool: 'echo', close: () => child.stop() };
    }
    case 'portcullis': {
      const gateway = await startGatewayProcess({
        agentId: 'bench-agent',
        config: { connectors: [{ id: 'echo', kind: 'mcp', transport: 'stdio', ...tsxCommand(ECHO_SERVER) }] },
      });
      return {
        name,
        url: gateway.url,
        headers: { Authorization: `Bearer ${gateway.key}` },
        tool: 'echo_echo',
        close: () => gateway.close(),
      };
    }
  }
}
