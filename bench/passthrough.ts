/**
 * The benchmark's bare pass-through: a node:http reverse proxy that forwards every request to one upstream
 * origin and streams the answer back, and does nothing else (no parsing, no MCP, no checks). In front of
 * the echo server over HTTP it is what one HTTP hop costs by itself, the floor under any gateway.
 *
 *   node --import tsx bench/passthrough.ts --upstream http://127.0.0.1:PORT [--port N]
 *
 * prints `Pass-through listening on http://127.0.0.1:PORT` once it accepts connections (port 0, or N).
 *
 * Forwarding: method, path and query, and the headers except the hop-by-hop ones (RFC 9110 section 7.6.1:
 * `Connection` and the headers it names, `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`, `Transfer-Encoding`,
 * `Upgrade`); `Host` names the upstream. Bodies are streamed both ways as they come, so an SSE response
 * reaches the client event by event. Connections to the upstream are kept alive and reused. An upstream that
 * cannot be reached is answered with 502, naming the error; a client that goes away aborts its upstream
 * request. A kept-alive connection that the upstream closes just as it is reused for a request (the race
 * Node's documentation describes for `request.reusedSocket`) resets that request: it is sent once more, on
 * a connection of its own, when its whole body has arrived and is at most `RESENDABLE_BODY_BYTES`.
 */
import {
  Agent,
  createServer,
  request,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { parseArgs } from 'node:util';
import { HOP_BY_HOP_HEADERS } from '../connectors/request-hygiene.js';
import { isEntryPoint, readCommandLine } from './lib/command.js';
import { BenchUsageError, portNumber } from './lib/options.js';

/** The end-to-end headers of a message: hop-by-hop ones and those its `Connection` header names left out. */
export function endToEndHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(headers['connection'] ?? '')
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== ''),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP_HEADERS.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** A request body up to this size is kept while it is forwarded, so that the request can be sent again. */
export const RESENDABLE_BODY_BYTES = 1024 * 1024;

/** A pass-through server for `upstream` (an origin: `http://host:port`). Call `listen` on it. */
export function createPassThrough(upstream: URL): Server {
  if (upstream.protocol !== 'http:' || upstream.pathname !== '/' || upstream.search !== '' || upstream.hash !== '')
    throw new TypeError(`the upstream must be an http: origin (http://host:port), not ${upstream.href}`);
  const agent = new Agent({ keepAlive: true });
  const server = createServer((req, res) => {
    const headers = endToEndHeaders(req.headers);
    headers['host'] = upstream.host;
    const body = keptBody(req);
    const forward = (resent: boolean): ClientRequest => {
      const upstreamRequest = request(
        {
          // The resent request takes a connection of its own rather than another kept-alive one.
          agent: resent ? false : agent,
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, endToEndHeaders(answer.headers));
          pipeline(answer, res, () => undefined);
        },
      );
      upstreamRequest.on('error', (error: NodeJS.ErrnoException) => {
        if (res.destroyed) return;
        const resendable = !resent && upstreamRequest.reusedSocket && error.code === 'ECONNRESET' && !res.headersSent;
        const whole = resendable ? body.whole() : undefined;
        if (whole !== undefined) {
          current = forward(true);
          current.end(whole);
          return;
        }
        if (!res.headersSent) {
          res
            .writeHead(502, { 'content-type': 'text/plain' })
            .end(`upstream unreachable (${error.code ?? error.message})\n`);
        } else res.destroy();
      });
      return upstreamRequest;
    };
    let current = forward(false);
    // A client that leaves before its answer is complete takes the upstream request down with it.
    res.on('close', () => {
      if (!res.writableFinished) current.destroy();
    });
    // Not pipeline(): a failed upstream request must not destroy the client's socket before the 502 is sent.
    req.pipe(current);
  });
  server.on('close', () => agent.destroy());
  return server;
}

/** The body of `req` as it arrives, kept up to `RESENDABLE_BODY_BYTES`: `whole()` once it all has. */
function keptBody(req: IncomingMessage): { whole(): Buffer | undefined } {
  let chunks: Buffer[] | undefined = [];
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    if (chunks === undefined) return;
    bytes += chunk.length;
    if (bytes > RESENDABLE_BODY_BYTES) chunks = undefined;
    else chunks.push(chunk);
  });
  return { whole: () => (req.complete && chunks !== undefined ? Buffer.concat(chunks) : undefined) };
}

const USAGE = `usage: node --import tsx bench/passthrough.ts --upstream http://127.0.0.1:PORT [--port N]

A bare HTTP hop in front of the echo server: forwards each request and streams its answer back, nothing
else.`;

if (isEntryPoint(import.meta.url)) {
  const { server, port } = readCommandLine(USAGE, (args) => {
    const { values } = parseArgs({
      args,
      options: { upstream: { type: 'string' }, port: { type: 'string', default: '0' } },
    });
    if (values.upstream === undefined) throw new BenchUsageError('--upstream is required');
    const port = portNumber('port', values.port);
    try {
      return { server: createPassThrough(new URL(values.upstream)), port };
    } catch (error) {
      throw new BenchUsageError(`--upstream: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  server.listen(port, '127.0.0.1', () => {
    const { port: bound } = server.address() as AddressInfo;
    process.stdout.write(`Pass-through listening on http://127.0.0.1:${bound}\n`);
  });
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
