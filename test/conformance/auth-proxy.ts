/**
 * A loopback reverse proxy that adds `Authorization: Bearer <key>` to every request, and does nothing
 * else. It stands in for the agent's credential: the conformance suite's client cannot send headers of
 * its own, while the gateway (rightly) refuses unauthenticated agents.
 *
 * Everything else passes through untouched in both directions, Host and Origin included, so the
 * gateway's own Host/Origin checks are what the suite's DNS-rebinding scenario sees. Bodies are streamed
 * (SSE responses arrive event by event). A credential the client sent itself is replaced, never merged.
 */
import { createServer, request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AuthProxy {
  /** The proxy's URL with the target's path, e.g. `http://127.0.0.1:<port>/mcp`. */
  url: string;
  close(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 7.6.1) are not forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

function forwardable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name) && name !== 'authorization' && value !== undefined) out[name] = value;
  }
  return out;
}

export async function startAuthProxy(target: string, bearer: string): Promise<AuthProxy> {
  const targetUrl = new URL(target);
  if (targetUrl.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(targetUrl.hostname)) {
    throw new Error('the auth proxy only forwards to a loopback http target');
  }
  const upstreams = new Set<ClientRequest>();

  const server = createServer((req, res) => {
    const upstream = httpRequest(
      {
        host: targetUrl.hostname.replace(/^\[|\]$/g, ''),
        port: targetUrl.port,
        method: req.method,
        path: req.url,
        headers: { ...forwardable(req.headers), authorization: `Bearer ${bearer}` },
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, forwardable(upstreamRes.headers));
        res.flushHeaders();
        upstreamRes.pipe(res);
      },
    );
    upstreams.add(upstream);
    upstream.once('close', () => upstreams.delete(upstream));
    upstream.once('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    // The client went away (e.g. closed an SSE stream): stop the upstream request too.
    res.once('close', () => upstream.destroy());
    req.pipe(upstream);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${targetUrl.pathname}`,
    async close() {
      for (const upstream of upstreams) upstream.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
