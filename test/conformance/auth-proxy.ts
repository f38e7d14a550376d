/**
 * A loopback reverse proxy that adds `Authorization: Bearer <key>` to every request, and does nothing
 * else. It stands in for the agent's credential: the conformance suite's client cannot send headers of
 * its own, while the gateway (rightly) refuses unauthenticated agents.
 *
 * Everything else passes through untouched in both directions, Host and Origin included, so the
 * gateway's own Host/Origin checks are what the suite's DNS-rebinding scenario sees. Bodies are streamed
 * (SSE responses arrive event by event). A credential the client sent itself is replaced, never merged.
 */
import { startLoopbackProxy } from '../fixtures/loopback-proxy.js';

export interface AuthProxy {
  /** The proxy's URL with the target's path, e.g. `http://127.0.0.1:<port>/mcp`. */
  url: string;
  close(): Promise<void>;
}

export async function startAuthProxy(target: string, bearer: string): Promise<AuthProxy> {
  // The client's own credential is replaced, never merged.
  return startLoopbackProxy(target, 'auth proxy', {
    requestHeaders: (headers) => ({ ...headers, authorization: `Bearer ${bearer}` }),
  });
}
