import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command, InvalidArgumentError } from 'commander';
import { createDemoApi } from '../../../../examples/demo/demo-api.js';
import { loadGateway, loadOrExit, untilSignal, whileUpstreamsStart } from './start.js';

const HERE = fileURLToPath(import.meta.url);
/** The demo's files: examples/demo in a source checkout, dist/examples/demo in the compiled package. */
const DEMO_DIR = path.resolve(path.dirname(HERE), '../../../../examples/demo');
/** `.ts` when running from the sources (through tsx), `.js` when running the compiled package. */
const OWN_EXTENSION = path.extname(HERE);
/** The demo agent's key. It is printed on purpose: the demo config holds only its sha256. */
export const DEMO_AGENT_KEY = 'pc_demo_not_a_secret_7c1e9a4f';
/** The demo operator's token, printed on purpose like the agent key. */
export const DEMO_OPERATOR_TOKEN = 'pc_demo_operator_not_a_secret_3b8d';
const DEFAULT_API_PORT = 18081;

/**
 * Where the demo keeps what it writes (audit log, development signing keys): `.portcullis/` under the
 * directory it runs in, never beside its configuration, which lives inside the installed package.
 */
export function demoStatePaths(stateDir: string): { auditFile: string; devKeyDir: string } {
  return { auditFile: path.join(stateDir, 'audit.jsonl'), devKeyDir: path.join(stateDir, 'keys') };
}

/** The command that runs the demo knowledge-base MCP server, compiled or from source like this module. */
export function demoMcpServerCommand(): { command: string; args: string[] } {
  const server = path.join(DEMO_DIR, `demo-mcp-server${OWN_EXTENSION}`);
  return { command: process.execPath, args: OWN_EXTENSION === '.ts' ? ['--import', 'tsx', server] : [server] };
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError('expected a port number 0-65535');
  return port;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('run the gateway on the demo configuration, with the demo helpdesk API and knowledge-base MCP server')
    .option('-c, --config <file>', 'demo configuration', path.join(DEMO_DIR, 'portcullis.yaml'))
    .option('-p, --port <port>', 'gateway port (0 = any free port)', parsePort)
    .option('--api-port <port>', 'demo API port (0 = any free port)', parsePort, DEFAULT_API_PORT)
    .option('--state-dir <dir>', 'where the audit log and development keys go', '.portcullis')
    .action(async (options: { config: string; port?: number; apiPort: number; stateDir: string }) => {
      const loaded = await loadOrExit(options.config);
      if (loaded === undefined) return;
      const state = demoStatePaths(path.resolve(options.stateDir));
      const api = createDemoApi();
      await new Promise<void>((resolve, reject) => {
        api.once('error', (error: NodeJS.ErrnoException) =>
          reject(
            new Error(
              error.code === 'EADDRINUSE'
                ? `port ${options.apiPort} is in use: stop whatever uses it or pass --api-port`
                : error.message,
            ),
          ),
        );
        api.listen(options.apiPort, '127.0.0.1', () => resolve());
      });
      const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
      // The demo config names the API's default address; point the helpdesk connector at the real one,
      // run the knowledge-base server that sits beside this module, and keep state in the state dir.
      const kbServer = demoMcpServerCommand();
      loaded.config = {
        ...loaded.config,
        listen: { ...loaded.config.listen, ...(options.port !== undefined ? { port: options.port } : {}) },
        connectors: loaded.config.connectors.map((c) => {
          if (c.kind === 'http' && c.id === 'helpdesk') return { ...c, baseUrl: apiUrl };
          if (c.kind === 'mcp' && c.id === 'kb' && c.transport === 'stdio') return { ...c, ...kbServer };
          return c;
        }),
        audit: { ...loaded.config.audit, file: state.auditFile },
        credentials: { ...loaded.config.credentials, devKeyDir: state.devKeyDir },
      };
      const gateway = await whileUpstreamsStart(loaded, async (earlyUpstreams) => {
        const { startGateway } = await loadGateway();
        return startGateway({ loaded, earlyUpstreams });
      }).catch(async (error: unknown) => {
        await closeServer(api);
        throw error;
      });
      const demoAgent = loaded.config.agents.find((a) => a.id === 'demo-agent');
      const tools = gateway.pipeline
        .listTools({ agentId: 'demo-agent', roles: demoAgent?.roles ?? [], authMethod: 'api-key' })
        .map((t) => t.name)
        .join(', ');
      process.stdout.write(
        [
          `Portcullis listening on ${gateway.mcpUrl}`,
          '',
          `  demo helpdesk API  ${apiUrl}`,
          `  demo agent tools   ${tools}`,
          `  demo agent key     ${DEMO_AGENT_KEY}`,
          `  operator console   ${gateway.baseUrl}/console/   (token ${DEMO_OPERATOR_TOKEN})`,
          `  audit log          ${loaded.config.audit.file ?? '(memory)'}`,
          '',
          'Try it with the MCP Inspector CLI (Node >= 22):',
          `  npx @modelcontextprotocol/inspector --cli ${gateway.mcpUrl} --transport http \\`,
          `    --header "Authorization: Bearer ${DEMO_AGENT_KEY}" --method tools/list`,
          `  npx @modelcontextprotocol/inspector --cli ${gateway.mcpUrl} --transport http \\`,
          `    --header "Authorization: Bearer ${DEMO_AGENT_KEY}" --method tools/call --tool-name helpdesk_get_ticket --tool-arg id=2`,
          '',
          'Deleting a ticket (helpdesk_delete_ticket) waits for an operator: approve it in the console, or with',
          `  PORTCULLIS_OPERATOR_TOKEN=${DEMO_OPERATOR_TOKEN} npx portcullis approvals list --url ${gateway.baseUrl}`,
          'Press Ctrl+C to stop.',
          '',
        ].join('\n'),
      );
      await untilSignal();
      await gateway.close();
      await closeServer(api);
    });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
