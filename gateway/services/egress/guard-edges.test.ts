/**
 * The egress guard at its edges: defaults that apply when an option is left out, the bookkeeping of pooled
 * connections as they open and close, closing while a request runs, HEAD requests (which have no body) through
 * redirects, and what each kind of refusal reports.
 */
import assert from 'node:assert/strict';
import { promises as dns } from 'node:dns';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { hostname } from 'node:os';
import tls from 'node:tls';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Decision, EgressFacts } from '../../../policies/types.js';
import { TEST_CERT, TEST_KEY } from '../../../test/fixtures/test-certificate.js';
import { type EgressDeniedError, isEgressError, type EgressDenial } from './errors.js';
import { createEgressGuard, type EgressGuard, type EgressGuardOptions, type EgressHop } from './guard.js';

/** One loopback backend answering by path; every request is recorded. */
let server: Server;
let port: number;
const received: { method: string; url: string }[] = [];
/** The backend's side of every connection it accepted, in order. */
const connections: Socket[] = [];
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/ok': (_req, res) => res.writeHead(200).end('fine'),
  '/hundred': (_req, res) => res.writeHead(200, { 'content-length': '100' }).end('x'.repeat(100)),
  // Declares one byte more than the default cap of 10 MiB, and sends one byte of it.
  '/over-default': (_req, res) => res.writeHead(200, { 'content-length': String(10 * 1024 * 1024 + 1) }).write('x'),
  '/slow': (_req, res) => void setTimeout(() => res.writeHead(200).end('slow'), 150),
  '/stall': (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).write('partial'),
  '/hang': () => undefined,
};

before(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url! });
      const url = new URL(req.url!, 'http://x');
      if (url.pathname === '/redirect') {
        res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('to')! }).end();
        return;
      }
      (routes[url.pathname] ?? ((_q, r) => r.writeHead(404).end()))(req, res);
    });
  });
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
  server.closeAllConnections();
  received.length = 0;
  connections.length = 0;
});

const allowLoopback = (f: EgressFacts): Decision =>
  f.addressClass === undefined || f.addressClass === 'loopback'
    ? { effect: 'allow', rules: ['allow'], reason: 'allowed' }
    : { effect: 'deny', rules: ['no-private'], reason: 'private destinations are not allowed' };

interface Harness {
  guard: EgressGuard;
  facts: EgressFacts[];
  denials: EgressDenial[];
  hops: EgressHop[];
  fetch: ReturnType<EgressGuard['fetchFor']>;
}

/** A guard over a lookup that resolves `api.test` to loopback, recording what it decided and reported. */
function harness(decide: (facts: EgressFacts) => Decision = allowLoopback, options: Partial<EgressGuardOptions> = {}) {
  const facts: EgressFacts[] = [];
  const denials: EgressDenial[] = [];
  const hops: EgressHop[] = [];
  const guard = createEgressGuard({
    decide: (f) => {
      facts.push(f);
      return decide(f);
    },
    lookup: async (name) => {
      if (name !== 'api.test') throw new Error(`no such test host ${name}`);
      return [{ address: '127.0.0.1', family: 4 }];
    },
    onDenied: (denial) => void denials.push(denial),
    ...options,
  });
  guards.push(guard);
  const h: Harness = {
    guard,
    facts,
    denials,
    hops,
    fetch: guard.fetchFor({ connector: 'api', onHop: (hop) => void hops.push(hop) }),
  };
  return h;
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

const withIp = (facts: readonly EgressFacts[]): EgressFacts[] => facts.filter((f) => f.ip !== undefined);
const settleFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const closedOnBackend = (socket: Socket): Promise<void> =>
  socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));

describe('egress guard defaults', () => {
  it('caps a response body at 10 MiB when no cap is given', async () => {
    const h = harness();
    assert.equal((await (await h.fetch(`http://api.test:${port}/hundred`)).text()).length, 100);
    await rejectsWith(
      h.fetch(`http://api.test:${port}/over-default`),
      'RESPONSE_TOO_LARGE',
      `response from api.test:${port} exceeds the limit of 10485760 bytes`,
    );
  });

  it('honours connectTimeoutMs: a connection that does not open in time fails, before the whole-exchange bound', async () => {
    // A TCP listener that never answers the TLS handshake: opening an HTTPS connection to it never completes.
    const silent: Socket[] = [];
    const mute = createTcpServer((socket) => void silent.push(socket));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    try {
      const mutePort = (mute.address() as AddressInfo).port;
      const h = harness(allowLoopback, { connectTimeoutMs: 100, timeoutMs: 5_000 });
      const started = Date.now();
      const error = await rejectsWith(
        h.fetch(`https://api.test:${mutePort}/`),
        'UPSTREAM_UNAVAILABLE',
        `request to api.test:${mutePort} failed`,
      );
      assert.ok(Date.now() - started < 4_000, 'failed on the connect timeout, not the exchange deadline');
      const codes: unknown[] = [];
      for (let cause: unknown = error; cause instanceof Error; cause = cause.cause)
        codes.push((cause as { code?: unknown }).code);
      assert.ok(codes.includes('UND_ERR_CONNECT_TIMEOUT'), `connect timeout expected, got ${codes.join(',')}`);
    } finally {
      for (const socket of silent) socket.destroy();
      await new Promise<void>((resolve) => mute.close(() => resolve()));
    }
  });

  it('trusts what Node trusts by default when no extra CA is given', async () => {
    const secure = createHttpsServer({ cert: TEST_CERT, key: TEST_KEY }, (_req, res) => res.end('secure'));
    await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
    const defaults = tls.getCACertificates('default');
    // The default trust of this process, as NODE_EXTRA_CA_CERTS or --use-system-ca would extend it.
    tls.setDefaultCACertificates([...defaults, TEST_CERT]);
    try {
      const securePort = (secure.address() as AddressInfo).port;
      const h = harness();
      assert.equal(await (await h.fetch(`https://api.test:${securePort}/`)).text(), 'secure');
    } finally {
      tls.setDefaultCACertificates(defaults);
      secure.closeAllConnections();
      await new Promise<void>((resolve) => secure.close(() => resolve()));
    }
  });

  it('resolves names with the system resolver when no lookup is given, deciding each answer in its order', async () => {
    // This machine's own name, as the system resolves it (often from /etc/hosts); every address is denied,
    // so nothing is ever sent, whatever it resolves to.
    const name = hostname().toLowerCase();
    const facts: EgressFacts[] = [];
    const guard = createEgressGuard({
      decide: (f) => {
        facts.push(f);
        return f.ip === undefined
          ? { effect: 'allow', rules: ['name'], reason: 'allowed' }
          : { effect: 'deny', rules: ['no-address'], reason: 'no address is allowed' };
      },
    });
    guards.push(guard);
    const fetch = guard.fetchFor({ connector: 'api' });
    let expected: string[] | undefined;
    try {
      expected = (await dns.lookup(name, { all: true, verbatim: true })).map((answer) => answer.address);
    } catch {
      expected = undefined;
    }
    // Watch what the guard asks of the resolver: every answer (`all`), in the resolver's own order (`verbatim`,
    // not IPv4 first), which is the order the answers are decided and tried in.
    const asked: unknown[] = [];
    const systemLookup = dns.lookup;
    (dns as { lookup: unknown }).lookup = (host: string, options: unknown) => {
      asked.push([host, options]);
      return systemLookup(host, options as never);
    };
    try {
      if (expected === undefined) {
        await rejectsWith(fetch(`http://${name}:${port}/`), 'UPSTREAM_UNAVAILABLE', `could not resolve ${name}`);
      } else {
        const error = await rejectsWith(fetch(`http://${name}:${port}/`), 'EGRESS_DENIED');
        assert.equal((error as EgressDeniedError).denial.ip, expected[0]);
        assert.deepEqual(
          withIp(facts).map((f) => f.ip),
          [expected[0]],
        );
      }
    } finally {
      (dns as { lookup: unknown }).lookup = systemLookup;
    }
    assert.deepEqual(asked, [[name, { all: true, verbatim: true }]]);
  });

  it('keeps the deadline timer from holding the process open while a request runs', async () => {
    const h = harness(allowLoopback, { timeoutMs: 60_000 });
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const controller = new AbortController();
    const pending = h.fetch(`http://api.test:${port}/hang`, { signal: controller.signal });
    while (received.length === 0) await settleFor(5);
    assert.equal(timers(), before, 'no timer that keeps the process alive was added');
    controller.abort(new Error('done'));
    await assert.rejects(pending, { message: 'done' });
  });
});

describe('egress guard: pooled connections as they open and close', () => {
  it('revalidates every open connection of the origin, and forgets each one once it has closed', async () => {
    const h = harness();
    /**
     * Send one request and count the address decisions it caused: one per connection the guard still tracks
     * for the origin (revalidated before dispatch), plus one per connection opened for it.
     */
    const revalidated = async (): Promise<number> => {
      const before = connections.length;
      h.facts.length = 0;
      await (await h.fetch(`http://api.test:${port}/ok`)).text();
      await settleFor(50);
      return withIp(h.facts).length - (connections.length - before);
    };
    // Two requests at once: two connections to the same origin, both idle afterwards.
    const both = await Promise.all([h.fetch(`http://api.test:${port}/slow`), h.fetch(`http://api.test:${port}/slow`)]);
    await Promise.all(both.map((r) => r.text()));
    await settleFor(50);
    assert.equal(connections.length, 2);
    assert.equal(await revalidated(), 2, 'both open connections were decided again');

    // The backend closes all but one; the guard stops deciding the closed ones and still decides the last.
    const open = connections.filter((c) => !c.destroyed);
    for (const socket of open.slice(1)) socket.destroy();
    await Promise.all(open.slice(1).map(closedOnBackend));
    await settleFor(200);
    assert.equal(await revalidated(), 1, 'only the connection still open was decided again');

    // All closed: nothing is left to decide again.
    for (const socket of connections) socket.destroy();
    await Promise.all(connections.map(closedOnBackend));
    await settleFor(200);
    assert.equal(await revalidated(), 0);
  });

  it('waits on close for requests still running to finish', async () => {
    const h = harness();
    let answered = false;
    const pending = h.fetch(`http://api.test:${port}/slow`).then(async (r) => {
      answered = true;
      return r.text();
    });
    while (received.length === 0) await settleFor(5);
    await h.guard.close();
    assert.equal(answered, true, 'close returned only after the running request was answered');
    assert.equal(await pending, 'slow');
  });

  it('refuses once closed without deciding or reporting anything', async () => {
    const h = harness();
    await h.guard.close();
    await rejectsWith(h.fetch(`http://api.test:${port}/ok`), 'UPSTREAM_UNAVAILABLE', 'the egress guard is closed');
    await rejectsWith(h.fetch('ftp://api.test/x'), 'UPSTREAM_UNAVAILABLE', 'the egress guard is closed');
    assert.deepEqual(h.facts, []);
    assert.deepEqual(h.hops, []);
    assert.deepEqual(h.denials, []);
  });
});

describe('egress guard: refusals at the edges', () => {
  it('refuses a URL with a user name and no password', async () => {
    const h = harness();
    const error = await rejectsWith(h.fetch(`http://someone@api.test:${port}/ok`), 'EGRESS_DENIED');
    assert.deepEqual((error as EgressDeniedError).denial, {
      scheme: 'http',
      host: 'api.test',
      port,
      rules: [],
      reason: 'URLs with embedded credentials are not sent',
    });
    assert.deepEqual(h.facts, []);
    assert.equal(received.length, 0);
  });

  it('refuses a denied literal address before dispatch, deciding it exactly once', async () => {
    const h = harness();
    await rejectsWith(
      h.fetch(`http://10.0.0.1:${port}/ok`),
      'EGRESS_DENIED',
      `egress to 10.0.0.1:${port} denied: private destinations are not allowed (private address)`,
    );
    assert.deepEqual(h.facts, [
      { connector: 'api', scheme: 'http', host: '10.0.0.1', port },
      { connector: 'api', scheme: 'http', host: '10.0.0.1', port, ip: '10.0.0.1', addressClass: 'private' },
    ]);
    assert.equal(h.denials.length, 1);
  });

  it('refuses a URL that does not parse, with no rules', async () => {
    const h = harness();
    const error = await rejectsWith(h.fetch('not a url'), 'EGRESS_DENIED');
    assert.deepEqual((error as EgressDeniedError).denial, {
      scheme: 'invalid',
      host: '',
      port: 0,
      rules: [],
      reason: 'the URL is not valid',
    });
  });

  it('tells onDenied about denials only, not about other failures', async () => {
    const h = harness();
    await rejectsWith(h.fetch('http://unknown.test/ok'), 'UPSTREAM_UNAVAILABLE');
    const slow = harness(allowLoopback, { timeoutMs: 100 });
    await rejectsWith(slow.fetch(`http://api.test:${port}/hang`), 'UPSTREAM_TIMEOUT');
    assert.deepEqual(slow.denials, []);
    assert.deepEqual(h.denials, []);
    await rejectsWith(h.fetch('http://10.0.0.1/'), 'EGRESS_DENIED');
    assert.equal(h.denials.length, 1);
  });

  it('lets a final answer through when redirects are an error', async () => {
    const h = harness();
    const response = await h.fetch(`http://api.test:${port}/ok`, { redirect: 'error' });
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'fine');
    await rejectsWith(
      h.fetch(`http://api.test:${port}/redirect?to=/ok`, { redirect: 'error' }),
      'UPSTREAM_ERROR',
      `api.test:${port} answered with a redirect, which the request does not allow`,
    );
  });

  it('fails a body that stalls past the deadline with UPSTREAM_TIMEOUT', async () => {
    const h = harness(allowLoopback, { timeoutMs: 300 });
    const response = await h.fetch(`http://api.test:${port}/stall`);
    await rejectsWith(response.text(), 'UPSTREAM_TIMEOUT', `request to api.test:${port} timed out after 300 ms`);
  });
});

describe('egress guard: HEAD requests, which have no body', () => {
  it('answers HEAD with the status and no body', async () => {
    const h = harness();
    const response = await h.fetch(`http://api.test:${port}/ok`, { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(response.body, null);
  });

  it('follows a redirect of a HEAD request', async () => {
    const h = harness();
    const response = await h.fetch(`http://api.test:${port}/redirect?to=/ok`, { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(response.redirected, true);
    assert.deepEqual(received, [
      { method: 'HEAD', url: '/redirect?to=/ok' },
      { method: 'HEAD', url: '/ok' },
    ]);
  });

  it('refuses a redirect of a HEAD request beyond the limit as a denial', async () => {
    const h = harness(allowLoopback, { maxRedirects: 0 });
    await rejectsWith(
      h.fetch(`http://api.test:${port}/redirect?to=/ok`, { method: 'HEAD' }),
      'EGRESS_DENIED',
      `egress to api.test:${port} denied: too many redirects (limit 0)`,
    );
  });
});
