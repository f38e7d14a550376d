/**
 * DNS-rebinding defence for the HTTP edge. A browser page on an attacker's domain can make the victim's
 * browser talk to a gateway on loopback; checking Host and Origin stops it.
 *
 * - Host: when listening on a loopback address, only loopback names (localhost, 127.0.0.1, [::1]) plus the
 *   configured `allowedHosts` are accepted. On other addresses, `allowedHosts` applies when it is non-empty.
 * - Origin: a request that carries an Origin header must name a configured `allowedOrigins` entry, or (on
 *   loopback) a loopback origin. Requests without Origin (non-browser clients) pass this check.
 */
import type { RequestHandler } from 'express';

export interface HostOriginOptions {
  listenHost: string;
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopbackListen(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || host.startsWith('127.');
}

function hostName(hostHeader: string): string {
  const trimmed = hostHeader.trim().toLowerCase();
  if (trimmed.startsWith('[')) return trimmed.slice(0, trimmed.indexOf(']') + 1);
  const colon = trimmed.lastIndexOf(':');
  return colon === -1 ? trimmed : trimmed.slice(0, colon);
}

export function hostOriginGuard(options: HostOriginOptions): RequestHandler {
  const loopback = isLoopbackListen(options.listenHost);
  const allowedHosts = new Set(options.allowedHosts.map((h) => h.toLowerCase()));
  const allowedOrigins = new Set(options.allowedOrigins.map((o) => new URL(o).origin));

  const hostAllowed = (header: string | undefined): boolean => {
    if (header === undefined || header === '') return false;
    const full = header.trim().toLowerCase();
    if (allowedHosts.has(full) || allowedHosts.has(hostName(full))) return true;
    if (loopback) return LOOPBACK_NAMES.has(hostName(full)) || hostName(full).startsWith('127.');
    return allowedHosts.size === 0;
  };

  const originAllowed = (origin: string): boolean => {
    if (allowedOrigins.has(origin)) return true;
    if (!loopback) return false;
    try {
      const url = new URL(origin);
      return LOOPBACK_NAMES.has(url.hostname) || url.hostname.startsWith('127.');
    } catch {
      return false;
    }
  };

  return (req, res, next) => {
    if (!hostAllowed(req.headers.host)) {
      res
        .status(403)
        .json({ jsonrpc: '2.0', error: { code: -32000, message: 'Forbidden: Host not allowed' }, id: null });
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin)) {
      res
        .status(403)
        .json({ jsonrpc: '2.0', error: { code: -32000, message: 'Forbidden: Origin not allowed' }, id: null });
      return;
    }
    next();
  };
}
