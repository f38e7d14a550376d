import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Decision, EgressFacts } from '../../../policies/types.js';
import { TEST_CERT, TEST_KEY } from '../../../test/fixtures/test-certificate.js';
import { EgressDeniedError, isEgressError, type EgressDenial } from './errors.js';
import {
  createEgressGuard,
  type EgressGuard,
  type EgressGuardOptions,
  type EgressHop,
  type EgressScope,
} from './guard.js';

/** One loopback backend; `routes` answers by path, every request is recorded. */
let server: Server;
let port: number;
const received: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
/** Every connection the backend accepted, in order. */
const connections: Socket[] = [];
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/ok': (_req, res) => res.writeHead(200, 'Fine Thanks', { 'x-answer': '42' }).end('fine'),
  '/empty': (_req, res) => res.writeHead(204).end(),
  '/big': (_req, res) => res.writeHead(200, { 'content-length': '100' }).end('x'.repeat(100)),
  '/chunked': (_req, res) => {
    res.write('x'.repeat(60));
    res.end('y'.repeat(60));
  },
  '/hang': () => undefined,
};

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const url = new URL(req.url!, 'http://x');
      if (url.pathname === '/redirect') {
        res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('to')! }).end();
        return;
      }
      (routes[url.pathname] ?? ((_q, r) => r.writeHead(404).end()))(req, res);
    });
  });
  // Idle connections stay open until a client closes them, so a test sees what the guard itself closes.
  server.keepAliveTimeout = 600_000;
  server.on('connection', (socket: Socket) => void connections.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

const guards: EgressGuard[] = [];
afterEach(async () => {
  await Promise.all(guards.splice(0).map((g) => g.close()));
  received.length = 0;
  connections.length = 0;
});

/** Names this test resolves: each to loopback, except `meta.test` to the metadata address. */
const DNS: Record<string, string[]> = {
  'api.test': ['127.0.0.1'],
  'other.test': ['127.0.0.1'],
  'meta.test': ['169.254.169.254'],
  'mixed.test': ['127.0.0.1', '10.0.0.1'],
};

interface Harness {
  guard: EgressGuard;
  facts: EgressFacts[];
  denials: EgressDenial[];
  hops: EgressHop[];
  fetch: ReturnType<EgressGuard['fetchFor']>;
}

/** A guard whose policy allows loopback and public addresses on the names above, and records what it decided. */
function harness(
  decide?: (facts: EgressFacts) => Decision,
  options: Partial<EgressGuardOptions> = {},
  scope: Partial<EgressScope> = {},
): Harness {
  const facts: EgressFacts[] = [];
  const denials: EgressDenial[] = [];
  const hops: EgressHop[] = [];
  const policy =
    decide ??
    ((f: EgressFacts): Decision =>
      f.addressClass === undefined || f.addressClass === 'loopback' || f.addressClass === 'public'
        ? { effect: 'allow', rules: ['allow'], reason: 'allowed' }
        : { effect: 'deny', rules: ['no-private'], reason: 'private destinations are not allowed' });
  const guard = createEgressGuard({
    decide: (f) => {
      facts.push(f);
      return policy(f);
    },
    lookup: async (hostname) => {
      const answers = DNS[hostname];
      if (answers === undefined) throw new Error(`no such test host ${hostname}`);
      return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    },
    onDenied: (denial) => void denials.push(denial),
    ...options,
  });
  guards.push(guard);
  return {
    guard,
    facts,
    denials,
    hops,
    fetch: guard.fetchFor({ connector: 'api', onHop: (hop) => void hops.push(hop), ...scope }),
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string, message?: string): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isEgressError(error), `expected an EgressError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message !== undefined) assert.equal(error.message, message);
    return error;
  }
  assert.fail(`expected rejection with ${code}`);
}

describe('egress guard: allowed requests', () => {
  it('decides on the name, then on the resolved address, and sends the request', async () => {
    const h = harness(
      undefined,
      {},
      {
        tool: 'api_get',
        principal: { agentId: 'a1', roles: ['r'], tenant: 't', authMethod: 'api-key', extra: 1 } as never,
      },
    );
    const response = await h.fetch(`http://api.test:${port}/ok?secret=1`, {
      headers: { host: 'evil.test', 'x-a': '1' },
    });
    assert.equal(response.status, 200);
    assert.equal(response.statusText, 'Fine Thanks');
    assert.equal(response.headers.get('x-answer'), '42');
    assert.equal(await response.text(), 'fine');
    assert.equal(response.url, `http://api.test:${port}/ok?secret=1`);
    assert.equal(response.redirected, false);
    assert.deepEqual(h.facts, [
      {
        connector: 'api',
        tool: 'api_get',
        principal: { agentId: 'a1', roles: ['r'], tenant: 't', authMethod: 'api-key' },
        scheme: 'http',
        host: 'api.test',
        port,
      },
      {
        connector: 'api',
        tool: 'api_get',
        principal: { agentId: 'a1', roles: ['r'], tenant: 't', authMethod: 'api-key' },
        scheme: 'http',
        host: 'api.test',
        port,
        ip: '127.0.0.1',
        addressClass: 'loopback',
      },
    ]);
    assert.equal(received.length, 1);
    assert.equal(received[0]!.headers.host, `api.test:${port}`, 'the Host header names the URL host');
    assert.equal(received[0]!.headers['x-a'], '1');
    assert.deepEqual(h.hops, [
      { index: 0, method: 'GET', url: `http://api.test:${port}/ok`, outcome: 'response', status: 200 },
    ]);
    assert.deepEqual(h.denials, []);
  });

  it('sends the method and body given', async () => {
    const h = harness();
    const response = await h.fetch(`http://api.test:${port}/ok`, { method: 'post', body: 'payload' });
    assert.equal(response.status, 200);
    assert.equal(received[0]!.method, 'POST');
    assert.equal(received[0]!.body, 'payload');
  });

  it('decides an IP literal host as an address before connecting, on the default port', async () => {
    const h = harness();
    const response = await h.fetch(`http://127.0.0.1:${port}/ok`);
    assert.equal(response.status, 200);
    assert.deepEqual(
      h.facts.map((f) => [f.host, f.ip, f.addressClass]),
      [
        ['127.0.0.1', undefined, undefined],
        ['127.0.0.1', '127.0.0.1', 'loopback'],
        ['127.0.0.1', '127.0.0.1', 'loopback'],
      ],
    );
  });

  it('answers a null-body status without a body', async () => {
    const h = harness();
    const response = await h.fetch(`http://api.test:${port}/empty`);
    assert.equal(response.status, 204);
    assert.equal(response.body, null);
  });
});

describe('egress guard: refusals before anything is sent', () => {
  const cases: [string, string, string][] = [
    ['ftp://api.test/x', 'egress to api.test denied: only http and https URLs are allowed', 'ftp'],
    ['http://user:pw@api.test:1/x', 'egress to api.test:1 denied: URLs with embedded credentials are not sent', 'http'],
    ['http://:pw@api.test:1/x', 'egress to api.test:1 denied: URLs with embedded credentials are not sent', 'http'],
    ['not a url', 'egress to invalid URL denied: the URL is not valid', 'invalid'],
  ];
  for (const [url, message, scheme] of cases)
    it(`refuses ${url}`, async () => {
      const h = harness();
      await rejectsWith(h.fetch(url), 'EGRESS_DENIED', message);
      assert.equal(received.length, 0);
      if (scheme === 'invalid') {
        // Refused while parsing, before there is a destination to report.
        assert.equal(h.denials.length, 0);
        return;
      }
      assert.equal(h.denials.length, 1);
      assert.equal(h.denials[0]!.scheme, scheme);
      assert.deepEqual(h.denials[0]!.rules, []);
    });

  it('uses 443 and 80 as the default ports in the facts', async () => {
    const h = harness(() => ({ effect: 'deny', rules: ['r'], reason: 'no' }));
    await rejectsWith(h.fetch('https://api.test/x'), 'EGRESS_DENIED', 'egress to api.test:443 denied: no');
    await rejectsWith(h.fetch('http://API.test/x'), 'EGRESS_DENIED', 'egress to api.test:80 denied: no');
    assert.deepEqual(
      h.facts.map((f) => [f.scheme, f.host, f.port]),
      [
        ['https', 'api.test', 443],
        ['http', 'api.test', 80],
      ],
    );
  });

  it('refuses what the policy denies, names the rules, and fails closed on anything but allow', async () => {
    const deny = harness(() => ({ effect: 'deny', rules: ['r1', 'r2'], reason: 'host is denied' }));
    await rejectsWith(
      deny.fetch(`http://api.test:${port}/ok`),
      'EGRESS_DENIED',
      `egress to api.test:${port} denied: host is denied`,
    );
    assert.deepEqual(deny.denials, [
      { scheme: 'http', host: 'api.test', port, rules: ['r1', 'r2'], reason: 'host is denied' },
    ]);
    assert.deepEqual(deny.hops, [
      { index: 0, method: 'GET', url: `http://api.test:${port}/ok`, outcome: 'denied', code: 'EGRESS_DENIED' },
    ]);

    const silent = harness(() => ({ effect: 'deny', rules: [], reason: '' }));
    await rejectsWith(
      silent.fetch(`http://api.test:${port}/ok`),
      'EGRESS_DENIED',
      `egress to api.test:${port} denied: not allowed by the egress policy`,
    );

    const approve = harness(() => ({ effect: 'approve', rules: ['ask'], reason: 'ask first' }));
    await rejectsWith(
      approve.fetch(`http://api.test:${port}/ok`),
      'EGRESS_DENIED',
      `egress to api.test:${port} denied: the destination requires an approval, which egress cannot wait for`,
    );
    assert.deepEqual(approve.denials[0]!.rules, ['ask']);

    const broken = harness(() => {
      throw new Error('policy bug');
    });
    await rejectsWith(
      broken.fetch(`http://api.test:${port}/ok`),
      'EGRESS_DENIED',
      `egress to api.test:${port} denied: the egress policy could not be evaluated`,
    );
    assert.deepEqual(broken.denials[0]!.rules, []);
    assert.equal(received.length, 0);
  });

  it('refuses a literal address the policy denies, naming the address and its class', async () => {
    const h = harness();
    await rejectsWith(
      h.fetch('http://169.254.169.254/latest/meta-data/'),
      'EGRESS_DENIED',
      'egress to 169.254.169.254:80 denied: private destinations are not allowed (metadata address)',
    );
    assert.deepEqual(h.denials, [
      {
        scheme: 'http',
        host: '169.254.169.254',
        port: 80,
        ip: '169.254.169.254',
        addressClass: 'metadata',
        rules: ['no-private'],
        reason: 'private destinations are not allowed (metadata address)',
      },
    ]);
    await rejectsWith(h.fetch('http://[::ffff:a9fe:a9fe]/'), 'EGRESS_DENIED');
    assert.equal(h.denials[1]!.host, '::ffff:a9fe:a9fe');
    assert.equal(h.denials[1]!.addressClass, 'metadata');
  });

  it('refuses a name that resolves to a denied address, without connecting', async () => {
    const h = harness();
    await rejectsWith(h.fetch(`http://meta.test:${port}/ok`), 'EGRESS_DENIED');
    await rejectsWith(h.fetch(`http://mixed.test:${port}/ok`), 'EGRESS_DENIED');
    assert.equal(received.length, 0);
    assert.equal(h.denials[0]!.ip, '169.254.169.254');
    assert.equal(h.denials[1]!.ip, '10.0.0.1');
  });

  it('keeps the outcome when reporting throws', async () => {
    const h = harness(() => ({ effect: 'deny', rules: [], reason: 'no' }), {
      onDenied: () => {
        throw new Error('reporting bug');
      },
    });
    const fetch = h.guard.fetchFor({
      connector: 'api',
      onHop: () => {
        throw new Error('tracing bug');
      },
    });
    await rejectsWith(fetch(`http://api.test:${port}/ok`), 'EGRESS_DENIED');
    const allowed = harness(undefined, {}, {});
    const quiet = allowed.guard.fetchFor({
      connector: 'api',
      onHop: () => {
        throw new Error('tracing bug');
      },
    });
    assert.equal((await quiet(`http://api.test:${port}/ok`)).status, 200);
  });
});

describe('egress guard: redirects', () => {
  const to = (target: string, status = 302) =>
    `http://api.test:${port}/redirect?status=${status}&to=${encodeURIComponent(target)}`;

  it('follows a redirect through both checks again and reports every hop', async () => {
    const h = harness();
    const response = await h.fetch(to(`http://other.test:${port}/ok`), {
      headers: { authorization: 'Bearer t', cookie: 'c=1' },
    });
    assert.equal(response.status, 200);
    assert.equal(response.redirected, true);
    assert.equal(response.url, `http://other.test:${port}/ok`);
    assert.deepEqual(
      received.map((r) => r.url),
      [`/redirect?status=302&to=${encodeURIComponent(`http://other.test:${port}/ok`)}`, '/ok'],
    );
    assert.equal(received[0]!.headers.authorization, 'Bearer t');
    assert.equal(received[1]!.headers.authorization, undefined, 'credentials do not follow to another origin');
    assert.equal(received[1]!.headers.cookie, undefined);
    assert.deepEqual(
      h.facts.map((f) => [f.host, f.addressClass]),
      [
        ['api.test', undefined],
        ['api.test', 'loopback'],
        ['other.test', undefined],
        ['other.test', 'loopback'],
      ],
    );
    assert.deepEqual(h.hops, [
      { index: 0, method: 'GET', url: `http://api.test:${port}/redirect`, outcome: 'redirect', status: 302 },
      { index: 1, method: 'GET', url: `http://other.test:${port}/ok`, outcome: 'response', status: 200 },
    ]);
  });

  it('refuses a redirect to a destination the policy denies, after only the first request', async () => {
    const h = harness();
    await rejectsWith(h.fetch(to('http://169.254.169.254/latest/')), 'EGRESS_DENIED');
    await rejectsWith(h.fetch(to(`http://meta.test:${port}/ok`)), 'EGRESS_DENIED');
    assert.equal(received.length, 2);
    assert.deepEqual(
      h.hops.map((hop) => [hop.index, hop.outcome]),
      [
        [0, 'redirect'],
        [1, 'denied'],
        [0, 'redirect'],
        [1, 'denied'],
      ],
    );
  });

  it('stops after maxRedirects with a denial, and follows none with 0', async () => {
    const h = harness(undefined, { maxRedirects: 1 });
    await rejectsWith(
      h.fetch(to(to(`http://api.test:${port}/ok`))),
      'EGRESS_DENIED',
      `egress to api.test:${port} denied: too many redirects (limit 1)`,
    );
    assert.equal(received.length, 2);
    assert.deepEqual(h.hops.at(-1), {
      index: 1,
      method: 'GET',
      url: `http://api.test:${port}/redirect`,
      outcome: 'denied',
      status: 302,
      code: 'EGRESS_DENIED',
    });
    const none = harness(undefined, { maxRedirects: 0 });
    await rejectsWith(
      none.fetch(to(`http://api.test:${port}/ok`)),
      'EGRESS_DENIED',
      `egress to api.test:${port} denied: too many redirects (limit 0)`,
    );
    const https = harness(undefined, { maxRedirects: 0 });
    await rejectsWith(https.fetch(`https://127.0.0.1:1/x`), 'UPSTREAM_UNAVAILABLE');
  });

  it('follows five redirects by default', async () => {
    const h = harness();
    let url = `http://api.test:${port}/ok`;
    for (let i = 0; i < 5; i++) url = to(url);
    assert.equal((await h.fetch(url)).status, 200);
    await rejectsWith(
      h.fetch(to(url)),
      'EGRESS_DENIED',
      `egress to api.test:${port} denied: too many redirects (limit 5)`,
    );
  });

  it('returns the 3xx itself when the caller asks for manual redirects, and refuses with error mode', async () => {
    const h = harness();
    const manual = await h.fetch(to(`http://api.test:${port}/ok`), { redirect: 'manual' });
    assert.equal(manual.status, 302);
    assert.equal(manual.redirected, false);
    assert.equal(received.length, 1);
    await rejectsWith(
      h.fetch(to(`http://api.test:${port}/ok`), { redirect: 'error' }),
      'UPSTREAM_ERROR',
      `api.test:${port} answered with a redirect, which the request does not allow`,
    );
    assert.equal(h.hops.at(-1)!.outcome, 'error');
    assert.equal(h.hops.at(-1)!.code, 'UPSTREAM_ERROR');
  });
});

describe('egress guard: limits and failures', () => {
  it('refuses a response declared larger than the cap, and one that grows past it', async () => {
    const h = harness(undefined, { maxResponseBytes: 99 });
    await rejectsWith(
      h.fetch(`http://api.test:${port}/big`),
      'RESPONSE_TOO_LARGE',
      `response from api.test:${port} exceeds the limit of 99 bytes`,
    );
    const exact = harness(undefined, { maxResponseBytes: 100 });
    assert.equal((await (await exact.fetch(`http://api.test:${port}/big`)).text()).length, 100);
    const streamed = harness(undefined, { maxResponseBytes: 100 });
    const response = await streamed.fetch(`http://api.test:${port}/chunked`);
    await rejectsWith(response.text(), 'RESPONSE_TOO_LARGE');
  });

  it('bounds the whole exchange in time', async () => {
    const h = harness(undefined, { timeoutMs: 200 });
    await rejectsWith(
      h.fetch(`http://api.test:${port}/hang`),
      'UPSTREAM_TIMEOUT',
      `request to api.test:${port} timed out after 200 ms`,
    );
  });

  it('passes on the caller aborting', async () => {
    const h = harness();
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const pending = h.fetch(`http://api.test:${port}/hang`, { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    await assert.rejects(pending, (error) => error === reason);
  });

  it('reports an unreachable backend as UPSTREAM_UNAVAILABLE', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const h = harness();
    await rejectsWith(
      h.fetch(`http://api.test:${deadPort}/ok`),
      'UPSTREAM_UNAVAILABLE',
      `request to api.test:${deadPort} failed`,
    );
    assert.deepEqual(h.hops, [
      {
        index: 0,
        method: 'GET',
        url: `http://api.test:${deadPort}/ok`,
        outcome: 'error',
        code: 'UPSTREAM_UNAVAILABLE',
      },
    ]);
    await rejectsWith(h.fetch('http://unknown.test/ok'), 'UPSTREAM_UNAVAILABLE');
  });

  it('refuses every request once closed', async () => {
    const h = harness();
    await h.guard.close();
    await rejectsWith(h.fetch(`http://api.test:${port}/ok`), 'UPSTREAM_UNAVAILABLE', 'the egress guard is closed');
    assert.equal(received.length, 0);
  });

  it('is an EgressDeniedError for denials', async () => {
    const h = harness(() => ({ effect: 'deny', rules: [], reason: 'no' }));
    const error = await rejectsWith(h.fetch('http://api.test/'), 'EGRESS_DENIED');
    assert.ok(error instanceof EgressDeniedError);
  });
});

/** Resolves when the backend's side of the connection has closed. */
const closedOnBackend = (socket: Socket): Promise<void> =>
  socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));

describe('egress guard: scopes and pooled connections', () => {
  /** One request, read to the end; then the connection is idle again (undici releases it on a later tick). */
  const get = async (fetch: Harness['fetch'], path = '/ok'): Promise<string> => {
    const text = await (await fetch(`http://api.test:${port}${path}`)).text();
    await new Promise((resolve) => setImmediate(resolve));
    return text;
  };

  it('puts only the policy-visible facts of the scope in front of the policy', async () => {
    const task = { id: 't-1', state: 'working' } as never;
    const h = harness(
      undefined,
      {},
      { principal: { agentId: 'a2', roles: ['x'], environment: 'prod' } as never, task },
    );
    await get(h.fetch);
    assert.deepEqual(h.facts[0], {
      connector: 'api',
      principal: { agentId: 'a2', roles: ['x'], environment: 'prod' },
      task,
      scheme: 'http',
      host: 'api.test',
      port,
    });
    const bare = harness(undefined, {}, { principal: { agentId: 'a3', roles: [] } as never });
    await get(bare.fetch);
    assert.deepEqual(bare.facts[0], {
      connector: 'api',
      principal: { agentId: 'a3', roles: [] },
      scheme: 'http',
      host: 'api.test',
      port,
    });
  });

  it('accepts a URL object as well as a string', async () => {
    const h = harness();
    const response = await h.fetch(new URL(`http://api.test:${port}/ok?q=1`));
    assert.equal(await response.text(), 'fine');
    assert.equal(received[0]!.url, '/ok?q=1');
  });

  it('keeps a connection per scope: the same scope reuses it, another scope never does', async () => {
    const h = harness();
    const other = h.guard.fetchFor({ connector: 'api', tool: 'api_other' });
    const again = h.guard.fetchFor({ connector: 'api' });
    await get(h.fetch);
    await get(h.fetch);
    await get(other);
    await get(again);
    assert.equal(received.length, 4);
    assert.equal(connections.length, 2);
  });

  it('closes the pool of the least recently used scope beyond maxPooledScopes', async () => {
    const h = harness(undefined, { maxPooledScopes: 2 });
    const a = h.fetch;
    const b = h.guard.fetchFor({ connector: 'b' });
    const c = h.guard.fetchFor({ connector: 'c' });
    await get(a);
    await get(b);
    await get(a); // a is now the most recently used
    assert.equal(connections.length, 2);
    await get(c); // b goes, and its connection is closed
    await closedOnBackend(connections[1]!);
    await get(a);
    assert.equal(connections.length, 3, 'a kept its connection');
    await get(b);
    assert.equal(connections.length, 4, 'b needed a new one');
    assert.equal(connections[0]!.destroyed, false);
  });

  it('keeps one pool when maxPooledScopes is below one', async () => {
    const h = harness(undefined, { maxPooledScopes: 0 });
    const b = h.guard.fetchFor({ connector: 'b' });
    await get(h.fetch);
    await get(h.fetch);
    await get(b);
    await get(h.fetch);
    assert.equal(connections.length, 3);
  });

  it('retires open connections whose address the policy no longer allows', async () => {
    let loopbackAllowed = true;
    const h = harness((f) =>
      f.addressClass === 'loopback' && !loopbackAllowed
        ? { effect: 'deny', rules: ['withdrawn'], reason: 'loopback withdrawn' }
        : { effect: 'allow', rules: ['allow'], reason: 'allowed' },
    );
    await get(h.fetch);
    await get(h.fetch);
    assert.equal(connections.length, 1, 'the connection is kept while allowed');
    loopbackAllowed = false;
    await rejectsWith(
      h.fetch(`http://api.test:${port}/ok`),
      'EGRESS_DENIED',
      `egress to api.test:${port} denied: loopback withdrawn (loopback address)`,
    );
    await closedOnBackend(connections[0]!);
    assert.equal(received.length, 2, 'nothing was sent over the withdrawn connection');
  });

  it('closes every pooled connection on close', async () => {
    const h = harness();
    await get(h.fetch);
    await get(h.guard.fetchFor({ connector: 'b' }));
    await h.guard.close();
    await Promise.all(connections.map(closedOnBackend));
    assert.equal(connections.length, 2);
  });

  it('refuses the next hop of a redirect when the guard was closed meanwhile', async () => {
    const h = harness();
    routes['/close-then-redirect'] = (_req, res) => {
      void h.guard.close();
      res.writeHead(302, { location: '/ok' }).end();
    };
    try {
      await rejectsWith(
        h.fetch(`http://api.test:${port}/close-then-redirect`),
        'UPSTREAM_UNAVAILABLE',
        'the egress guard is closed',
      );
      assert.deepEqual(
        received.map((r) => r.url),
        ['/close-then-redirect'],
      );
    } finally {
      delete routes['/close-then-redirect'];
    }
  });

  it('refuses more redirects than allowed from an IPv6 literal, naming it', async () => {
    const v6 = createServer((_req, res) => res.writeHead(302, { location: '/again' }).end());
    await new Promise<void>((resolve) => v6.listen(0, '::1', resolve));
    try {
      const v6Port = (v6.address() as AddressInfo).port;
      const h = harness(undefined, { maxRedirects: 0 });
      const error = await rejectsWith(
        h.fetch(`http://[::1]:${v6Port}/x`),
        'EGRESS_DENIED',
        `egress to [::1]:${v6Port} denied: too many redirects (limit 0)`,
      );
      assert.deepEqual((error as EgressDeniedError).denial, {
        scheme: 'http',
        host: '::1',
        port: v6Port,
        rules: [],
        reason: 'too many redirects (limit 0)',
      });
    } finally {
      v6.closeAllConnections();
      await new Promise<void>((resolve) => v6.close(() => resolve()));
    }
  });
});

describe('egress guard: request bodies', () => {
  it('sends a streamed body', async () => {
    const h = harness();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('streamed '));
        controller.enqueue(new TextEncoder().encode('body'));
        controller.close();
      },
    });
    const response = await h.fetch(`http://api.test:${port}/ok`, { method: 'PUT', body: stream });
    assert.equal(response.status, 200);
    assert.equal(received[0]!.body, 'streamed body');
  });

  it('sends an async iterable body', async () => {
    const h = harness();
    async function* chunks(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode('iterated ');
      yield new TextEncoder().encode('body');
    }
    const response = await h.fetch(`http://api.test:${port}/ok`, {
      method: 'POST',
      body: chunks() as unknown as NonNullable<RequestInit['body']>,
    });
    assert.equal(response.status, 200);
    assert.equal(received[0]!.body, 'iterated body');
  });
});

describe('egress guard: errors', () => {
  /** A caller abort reason whose cause chain holds an EgressError `depth` links down. */
  const buried = (depth: number): Error => {
    let error: Error = new EgressDeniedError({ scheme: 'http', host: 'x.test', port: 80, rules: [], reason: 'deep' });
    for (let i = 0; i < depth; i++) error = new Error(`level ${depth - i - 1}`, { cause: error });
    return error;
  };

  for (const [depth, found] of [
    [4, true],
    [5, false],
  ] as const) {
    it(`recognises its own error ${depth} causes down ${found ? 'as its own' : 'no more'}`, async () => {
      const h = harness();
      const controller = new AbortController();
      const reason = buried(depth);
      routes['/abort'] = () => controller.abort(reason);
      try {
        const outcome = await h.fetch(`http://api.test:${port}/abort`, { signal: controller.signal }).then(
          () => assert.fail('expected a rejection'),
          (error: unknown) => error,
        );
        if (found) assert.ok(outcome instanceof EgressDeniedError && outcome.denial.reason === 'deep');
        else assert.equal(outcome, reason);
      } finally {
        delete routes['/abort'];
      }
    });
  }

  it('passes on an abort reason whose cause is null', async () => {
    const h = harness();
    const controller = new AbortController();
    const reason = new Error('caller gave up', { cause: null });
    routes['/abort'] = () => controller.abort(reason);
    try {
      await assert.rejects(
        h.fetch(`http://api.test:${port}/abort`, { signal: controller.signal }),
        (e) => e === reason,
      );
    } finally {
      delete routes['/abort'];
    }
  });
});

describe('egress guard: HTTPS', () => {
  let tls: Server;
  let tlsPort: number;
  before(async () => {
    tls = createHttpsServer({ cert: TEST_CERT, key: TEST_KEY }, (_req, res) => res.end('secure'));
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    tlsPort = (tls.address() as AddressInfo).port;
  });
  after(() => {
    tls.closeAllConnections();
    return new Promise<void>((resolve) => tls.close(() => resolve()));
  });

  for (const [label, ca] of [
    ['one PEM string', TEST_CERT],
    ['a list of PEM strings', [TEST_CERT]],
  ] as const) {
    it(`trusts an extra CA given as ${label}`, async () => {
      const h = harness(undefined, { ca });
      assert.equal(await (await h.fetch(`https://api.test:${tlsPort}/`)).text(), 'secure');
    });
  }

  it('refuses a certificate no trusted CA signed', async () => {
    const h = harness();
    const error = await rejectsWith(h.fetch(`https://api.test:${tlsPort}/`), 'UPSTREAM_UNAVAILABLE');
    const codes: unknown[] = [];
    for (let cause: unknown = error; cause instanceof Error; cause = cause.cause)
      codes.push((cause as { code?: unknown }).code);
    assert.ok(codes.includes('DEPTH_ZERO_SELF_SIGNED_CERT'), `certificate error expected, got ${codes.join(',')}`);
  });
});
