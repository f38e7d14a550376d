/**
 * The egress guard against real servers on 127.0.0.1 (port 0). Host names like `api.test` are mapped to
 * addresses by the guard's injectable resolver; the policy is a small hand-written `decide` so these tests do
 * not depend on the policy engine. Every denial asserts that the target received nothing, and where nothing
 * listens, that no client socket was even created.
 */
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Decision, EgressFacts } from '../policies/types.js';
import {
  createEgressGuard,
  EgressDeniedError,
  isEgressError,
  type EgressGuard,
  type EgressGuardOptions,
  type EgressHop,
} from '../gateway/services/egress/index.js';
import { TEST_CERT, TEST_KEY } from './fixtures/test-certificate.js';

// ---------------------------------------------------------------------------------------------------------
// Fixtures

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

interface TestServer {
  port: number;
  received: Received[];
  /** TCP connections accepted. */
  connections: number;
  /** TLS servernames seen (HTTPS servers only). */
  servernames: (string | false | null)[];
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, received: Received) => void;

const servers: TestServer[] = [];

async function listen(server: Server, handler: Handler): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const result: TestServer = {
    port: 0,
    received: [],
    connections: 0,
    servernames: [],
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('connection', (socket: Socket) => {
    result.connections += 1;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: TLSSocket) => result.servernames.push(socket.servername));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      result.received.push(received);
      handler(req, res, received);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  result.port = (server.address() as AddressInfo).port;
  servers.push(result);
  return result;
}

function startServer(handler: Handler = (_req, res) => res.end('ok')): Promise<TestServer> {
  return listen(createServer(), handler);
}

function reply(status: number, headers: Record<string, string> = {}, body = ''): Handler {
  return (_req, res) => {
    res.writeHead(status, headers);
    res.end(body);
  };
}

/** Name -> addresses, as the injected resolver answers. */
const DNS: Record<string, string[]> = {
  'api.test': ['127.0.0.1'],
  'other.test': ['127.0.0.1'],
  'private.test': ['10.0.0.5'],
  'mixed.test': ['93.184.216.34', '10.0.0.5'],
  'public.test': ['93.184.216.34'],
};

interface PolicyOptions {
  /** Hosts for which a rule names the loopback class. */
  loopbackHosts?: readonly string[];
  /** Hosts denied by name. */
  deniedHosts?: readonly string[];
  /** Only these connectors get the loopback rule (all when absent). */
  connectors?: readonly string[];
}

/** A tiny egress policy: public addresses allowed, loopback only where a rule names the host, everything else denied. */
function policy(options: PolicyOptions = {}): { decide: (facts: EgressFacts) => Decision; seen: EgressFacts[] } {
  const seen: EgressFacts[] = [];
  const decide = (facts: EgressFacts): Decision => {
    seen.push(facts);
    if (options.deniedHosts?.includes(facts.host) === true)
      return { effect: 'deny', rules: ['deny-host'], reason: 'host is denied' };
    if (facts.addressClass === undefined || facts.addressClass === 'public')
      return { effect: 'allow', rules: ['allow-public'], reason: 'allowed' };
    const connectorOk = options.connectors === undefined || options.connectors.includes(facts.connector);
    if (facts.addressClass === 'loopback' && connectorOk && options.loopbackHosts?.includes(facts.host) === true) {
      return { effect: 'allow', rules: ['allow-loopback'], reason: 'loopback named by a rule' };
    }
    return { effect: 'deny', rules: [], reason: 'no rule allows this destination' };
  };
  return { decide, seen };
}

const guards: EgressGuard[] = [];
let lookups: string[] = [];

function guard(decide: (facts: EgressFacts) => Decision, options: Partial<EgressGuardOptions> = {}): EgressGuard {
  const created = createEgressGuard({
    decide,
    lookup: async (hostname) => {
      lookups.push(hostname);
      const answers = DNS[hostname];
      if (answers === undefined) throw new Error(`no such test host ${hostname}`);
      return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    },
    ...options,
  });
  guards.push(created);
  return created;
}

/** Client TCP sockets created by this process while `action` ran. */
let clientSockets = 0;
const countSocket = (): void => {
  clientSockets += 1;
};

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<Error & { code: string }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isEgressError(error), `expected an EgressError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected rejection with ${code}`);
}

before(() => dc.subscribe('net.client.socket', countSocket));
after(() => dc.unsubscribe('net.client.socket', countSocket));
afterEach(async () => {
  await Promise.all(guards.splice(0).map((g) => g.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  lookups = [];
  clientSockets = 0;
});

// ---------------------------------------------------------------------------------------------------------

describe('allowed destinations', () => {
  it('sends a request when a rule names the loopback class for the host, and decides on the resolved IP', async () => {
    const server = await startServer(reply(200, { 'content-type': 'text/plain' }, 'hello'));
    const { decide, seen } = policy({ loopbackHosts: ['api.test'] });
    const fetch = guard(decide).fetchFor({ connector: 'crm', tool: 'crm_get' });
    const response = await fetch(`http://api.test:${server.port}/v1/items?q=1`, { headers: { 'x-test': 'yes' } });
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'hello');
    assert.equal(response.url, `http://api.test:${server.port}/v1/items?q=1`);
    assert.equal(server.received.length, 1);
    assert.equal(server.received[0]?.url, '/v1/items?q=1');
    assert.equal(server.received[0]?.headers['host'], `api.test:${server.port}`);
    assert.equal(server.received[0]?.headers['x-test'], 'yes');
    // Pre-check on the name, then the connect-time check on the address.
    assert.deepEqual(
      seen.map((facts) => [
        facts.connector,
        facts.tool,
        facts.host,
        facts.port,
        facts.scheme,
        facts.ip,
        facts.addressClass,
      ]),
      [
        ['crm', 'crm_get', 'api.test', server.port, 'http', undefined, undefined],
        ['crm', 'crm_get', 'api.test', server.port, 'http', '127.0.0.1', 'loopback'],
      ],
    );
    assert.deepEqual(lookups, ['api.test']);
  });

  it('denies loopback by default: the same request without the rule never reaches the server', async () => {
    const server = await startServer();
    const fetch = guard(policy().decide).fetchFor({ connector: 'crm' });
    const error = await rejectsWith(fetch(`http://api.test:${server.port}/v1/items`), 'EGRESS_DENIED');
    assert.ok(error instanceof EgressDeniedError);
    assert.match(error.message, /api\.test/);
    assert.match(error.message, /loopback/);
    assert.equal(error.denial.ip, '127.0.0.1');
    assert.equal(server.received.length, 0);
    assert.equal(server.connections, 0);
    assert.equal(clientSockets, 0);
  });

  it('passes the scope facts (principal, task) to the policy', async () => {
    const server = await startServer();
    const { decide, seen } = policy({ loopbackHosts: ['api.test'] });
    const principal = { agentId: 'agent-1', roles: ['reader'], tenant: 't1', authMethod: 'api-key' };
    const fetch = guard(decide).fetchFor({ connector: 'crm', principal, task: { id: 'task-1', intent: 'read' } });
    await (await fetch(`http://api.test:${server.port}/`)).text();
    assert.ok(seen.length >= 2);
    for (const facts of seen) {
      assert.equal(facts.principal?.agentId, 'agent-1');
      assert.deepEqual(facts.principal?.roles, ['reader']);
      assert.equal(facts.task?.id, 'task-1');
    }
  });

  it('connects to the checked IP with TLS verified for the host name, whatever Host header is given', async () => {
    const server = await listen(createHttpsServer({ cert: TEST_CERT, key: TEST_KEY }), reply(200, {}, 'secure'));
    const fetch = guard(policy({ loopbackHosts: ['api.test'] }).decide, { ca: TEST_CERT }).fetchFor({
      connector: 'crm',
    });
    const response = await fetch(`https://api.test:${server.port}/`, { headers: { host: 'evil.test' } });
    assert.equal(await response.text(), 'secure');
    assert.deepEqual(server.servernames, ['api.test']);
    assert.equal(server.received[0]?.headers['host'], `api.test:${server.port}`);
  });

  it('refuses a certificate that is not trusted', async () => {
    const server = await listen(createHttpsServer({ cert: TEST_CERT, key: TEST_KEY }), reply(200));
    const fetch = guard(policy({ loopbackHosts: ['api.test'] }).decide).fetchFor({ connector: 'crm' });
    await rejectsWith(fetch(`https://api.test:${server.port}/`), 'UPSTREAM_UNAVAILABLE');
    assert.equal(server.received.length, 0);
  });
});

describe('denied destinations', () => {
  const literalHosts = [
    '127.0.0.1',
    'localhost',
    '[::ffff:127.0.0.1]',
    '[::ffff:7f00:1]',
    '2130706433',
    '0x7f000001',
    '0177.0.0.1',
    '127.1',
    '[64:ff9b::7f00:1]',
  ];
  for (const host of literalHosts) {
    it(`denies http://${host}:port/ before any connection`, async () => {
      const server = await startServer();
      // A rule names loopback for api.test only: none of these spellings is api.test.
      const fetch = guard(policy({ loopbackHosts: ['api.test'] }).decide).fetchFor({ connector: 'crm' });
      const error = await rejectsWith(fetch(`http://${host}:${server.port}/admin`), 'EGRESS_DENIED');
      assert.ok(error instanceof EgressDeniedError);
      assert.equal(error.denial.addressClass, 'loopback');
      assert.equal(server.received.length, 0);
      assert.equal(server.connections, 0);
      assert.equal(clientSockets, 0);
      assert.deepEqual(lookups, [], 'an address literal (and localhost) never goes to the resolver');
    });
  }

  it('denies the metadata address before any connect attempt', async () => {
    const fetch = guard(policy().decide).fetchFor({ connector: 'crm' });
    const error = await rejectsWith(
      fetch('http://169.254.169.254/latest/meta-data/iam/security-credentials/'),
      'EGRESS_DENIED',
    );
    assert.ok(error instanceof EgressDeniedError);
    assert.equal(error.denial.addressClass, 'metadata');
    assert.doesNotMatch(error.message, /security-credentials/, 'the message names the host, not the path');
    assert.equal(clientSockets, 0);
  });

  it('denies a name that resolves to a private address', async () => {
    const fetch = guard(policy().decide).fetchFor({ connector: 'crm' });
    const error = await rejectsWith(fetch('http://private.test/'), 'EGRESS_DENIED');
    assert.ok(error instanceof EgressDeniedError);
    assert.equal(error.denial.addressClass, 'private');
    assert.equal(clientSockets, 0);
  });

  it('denies a name with one public and one private answer', async () => {
    const { decide, seen } = policy();
    const fetch = guard(decide).fetchFor({ connector: 'crm' });
    const error = await rejectsWith(fetch('https://mixed.test/'), 'EGRESS_DENIED');
    assert.ok(error instanceof EgressDeniedError);
    assert.equal(error.denial.ip, '10.0.0.5');
    assert.deepEqual(
      seen.filter((facts) => facts.ip !== undefined).map((facts) => facts.addressClass),
      ['public', 'private'],
    );
    assert.equal(clientSockets, 0);
  });

  it('denies a host the policy names, before resolving it', async () => {
    const fetch = guard(policy({ deniedHosts: ['public.test'] }).decide).fetchFor({ connector: 'crm' });
    const error = await rejectsWith(fetch('http://public.test/'), 'EGRESS_DENIED');
    assert.ok(error instanceof EgressDeniedError);
    assert.deepEqual(error.denial.rules, ['deny-host']);
    assert.deepEqual(lookups, []);
    assert.equal(clientSockets, 0);
  });

  for (const url of [
    'file:///etc/passwd',
    'ftp://api.test/file',
    'data:text/plain,hello',
    'gopher://api.test:70/_x',
    'ws://api.test/',
  ]) {
    it(`denies ${url.split(':')[0]}: URLs without asking the policy`, async () => {
      const { decide, seen } = policy({ loopbackHosts: ['api.test'] });
      const fetch = guard(decide).fetchFor({ connector: 'crm' });
      await rejectsWith(fetch(url), 'EGRESS_DENIED');
      assert.equal(seen.length, 0);
      assert.equal(clientSockets, 0);
    });
  }

  it('denies invalid URLs and URLs with embedded credentials', async () => {
    const server = await startServer();
    const fetch = guard(policy({ loopbackHosts: ['api.test'] }).decide).fetchFor({ connector: 'crm' });
    await rejectsWith(fetch('not a url'), 'EGRESS_DENIED');
    const error = await rejectsWith(fetch(`http://user:hunter2@api.test:${server.port}/`), 'EGRESS_DENIED');
    assert.doesNotMatch(error.message, /hunter2/);
    assert.equal(server.received.length, 0);
  });

  it('fails closed when the policy throws or asks for an approval', async () => {
    const server = await startServer();
    const throwing = guard(() => {
      throw new Error('broken policy');
    }).fetchFor({ connector: 'crm' });
    await rejectsWith(throwing(`http://api.test:${server.port}/`), 'EGRESS_DENIED');
    const approving = guard(() => ({
      effect: 'approve',
      rules: ['needs-op'],
      reason: 'operator must approve',
    })).fetchFor({ connector: 'crm' });
    await rejectsWith(approving(`http://api.test:${server.port}/`), 'EGRESS_DENIED');
    assert.equal(server.received.length, 0);
    assert.equal(server.connections, 0);
  });
});

describe('connection reuse', () => {
  it('never reuses a connection checked for one scope in another whose policy differs', async () => {
    const server = await startServer();
    const g = guard(policy({ loopbackHosts: ['api.test'], connectors: ['crm'] }).decide);
    const allowed = await g.fetchFor({ connector: 'crm' })(`http://api.test:${server.port}/a`);
    assert.equal(await allowed.text(), 'ok');
    await rejectsWith(g.fetchFor({ connector: 'billing' })(`http://api.test:${server.port}/b`), 'EGRESS_DENIED');
    assert.deepEqual(
      server.received.map((r) => r.url),
      ['/a'],
    );
  });

  it('retires a kept-alive connection when the policy stops allowing its address', async () => {
    const server = await startServer();
    let loopbackAllowed = true;
    const { decide } = policy({ loopbackHosts: ['api.test'] });
    const fetch = guard((facts) =>
      facts.addressClass === 'loopback' && !loopbackAllowed
        ? { effect: 'deny', rules: [], reason: 'withdrawn' }
        : decide(facts),
    ).fetchFor({
      connector: 'crm',
    });
    for (const path of ['/1', '/2', '/3'])
      assert.equal(await (await fetch(`http://api.test:${server.port}${path}`)).text(), 'ok');
    // Let the pool see the last exchange complete, so its connection is idle and would be reused.
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(server.connections < 3, 'connections are kept alive and reused');
    loopbackAllowed = false;
    await rejectsWith(fetch(`http://api.test:${server.port}/4`), 'EGRESS_DENIED');
    assert.deepEqual(
      server.received.map((r) => r.url),
      ['/1', '/2', '/3'],
    );
  });
});

describe('redirects', () => {
  it('denies a redirect from an allowed host to a denied one; the second server receives nothing', async () => {
    const target = await startServer();
    const locations = [
      `http://127.0.0.1:${target.port}/internal`,
      `http://private.test/`,
      `http://other.test:${target.port}/x`,
      'http://169.254.169.254/',
    ];
    for (const location of locations) {
      const first = await startServer(reply(302, { location }));
      const fetch = guard(policy({ loopbackHosts: ['api.test'] }).decide).fetchFor({ connector: 'crm' });
      await rejectsWith(fetch(`http://api.test:${first.port}/start`), 'EGRESS_DENIED');
      assert.equal(first.received.length, 1, location);
    }
    assert.equal(target.received.length, 0);
    assert.equal(target.connections, 0);
  });

  it('follows allowed redirects, dropping credential headers when the origin changes', async () => {
    const final = await startServer(reply(200, {}, 'landed'));
    const hop = await startServer(reply(307, { location: `http://other.test:${final.port}/final?token=abc` }));
    const hops: EgressHop[] = [];
    const fetch = guard(policy({ loopbackHosts: ['api.test', 'other.test'] }).decide).fetchFor({
      connector: 'crm',
      onHop: (h) => hops.push(h),
    });
    const firstUrl = `http://api.test:${hop.port}/start?secret=1`;
    const response = await fetch(firstUrl, {
      headers: { authorization: 'Bearer upstream', cookie: 'sid=1', 'proxy-authorization': 'Basic x' },
    });
    assert.equal(await response.text(), 'landed');
    assert.equal(response.redirected, true);
    assert.equal(response.url, `http://other.test:${final.port}/final?token=abc`);
    assert.equal(hop.received[0]?.headers['authorization'], 'Bearer upstream');
    const landed = final.received[0];
    assert.ok(landed !== undefined);
    assert.equal(landed.headers['authorization'], undefined);
    assert.equal(landed.headers['cookie'], undefined);
    assert.equal(landed.headers['proxy-authorization'], undefined);
    assert.deepEqual(
      hops.map((h) => [h.index, h.outcome, h.status, h.url]),
      [
        [0, 'redirect', 307, `http://api.test:${hop.port}/start`],
        [1, 'response', 200, `http://other.test:${final.port}/final`],
      ],
    );
  });

  it('keeps credential headers on a same-origin redirect', async () => {
    const server = await startServer((req, res) => {
      if (req.url === '/start') res.writeHead(301, { location: '/next' }).end();
      else res.end('done');
    });
    const fetch = guard(policy({ loopbackHosts: ['api.test'] }).decide).fetchFor({ connector: 'crm' });
    const response = await fetch(`http://api.test:${server.port}/start`, { headers: { authorization: 'Bearer same' } });
    assert.equal(await response.text(), 'done');
    assert.deepEqual(
      server.received.map((r) => [r.url, r.headers['authorization']]),
      [
        ['/start', 'Bearer same'],
        ['/next', 'Bearer same'],
      ],
    );
  });

  it('turns a POST into a GET without body on 303, and keeps method and body on 307', async () => {
    const server = await startServer((req, res) => {
      if (req.url === '/see-other') res.writeHead(303, { location: '/result' }).end();
      else if (req.url === '/temporary') res.writeHead(307, { location: '/result' }).end();
      else res.end('result');
    });
    const fetch = guard(policy({ loopbackHosts: ['api.test'] }).decide).fetchFor({ connector: 'crm' });
    const init = { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } };
    await (await fetch(`http://api.test:${server.port}/see-other`, init)).text();
    await (await fetch(`http://api.test:${server.port}/temporary`, init)).text();
    assert.deepEqual(
      server.received.map((r) => [r.method, r.url, r.body, r.headers['content-type']]),
      [
        ['POST', '/see-other', '{"a":1}', 'application/json'],
        ['GET', '/result', '', undefined],
        ['POST', '/temporary', '{"a":1}', 'application/json'],
        ['POST', '/result', '{"a":1}', 'application/json'],
      ],
    );
  });

  it('stops after maxRedirects', async () => {
    const server = await startServer((req, res) =>
      res.writeHead(302, { location: `/loop${(req.url?.length ?? 0) + 1}` }).end(),
    );
    const fetch = guard(policy({ loopbackHosts: ['api.test'] }).decide, { maxRedirects: 2 }).fetchFor({
      connector: 'crm',
    });
    const error = await rejectsWith(fetch(`http://api.test:${server.port}/`), 'EGRESS_DENIED');
    assert.match(error.message, /too many redirects/);
    assert.equal(server.received.length, 3);
  });

  it('does not follow redirects to other schemes', async () => {
    for (const location of [
      'file:///etc/passwd',
      'ftp://api.test/x',
      'gopher://api.test:70/_x',
      'data:text/plain,hi',
    ]) {
      const server = await startServer(reply(302, { location }));
      const fetch = guard(policy({ loopbackHosts: ['api.test'] }).decide).fetchFor({ connector: 'crm' });
      await rejectsWith(fetch(`http://api.test:${server.port}/`), 'EGRESS_DENIED');
      assert.equal(server.received.length, 1);
    }
  });

  it("honours the caller's redirect mode", async () => {
    const target = await startServer();
    const server = await startServer(reply(302, { location: `http://other.test:${target.port}/` }));
    const fetch = guard(policy({ loopbackHosts: ['api.test', 'other.test'] }).decide).fetchFor({ connector: 'crm' });
    const manual = await fetch(`http://api.test:${server.port}/`, { redirect: 'manual' });
    assert.equal(manual.status, 302);
    assert.equal(manual.headers.get('location'), `http://other.test:${target.port}/`);
    await rejectsWith(fetch(`http://api.test:${server.port}/`, { redirect: 'error' }), 'UPSTREAM_ERROR');
    assert.equal(server.received.length, 2);
    assert.equal(target.received.length, 0);
  });

  it('hands a 3xx without Location to the caller', async () => {
    const server = await startServer(reply(304));
    const fetch = guard(policy({ loopbackHosts: ['api.test'] }).decide).fetchFor({ connector: 'crm' });
    const response = await fetch(`http://api.test:${server.port}/`);
    assert.equal(response.status, 304);
    assert.equal(response.body, null);
  });
});

describe('proxy environment variables', () => {
  const names = [
    'HTTP_PROXY',
    'http_proxy',
    'HTTPS_PROXY',
    'https_proxy',
    'ALL_PROXY',
    'all_proxy',
    'NO_PROXY',
    'no_proxy',
  ];
  const saved: Record<string, string | undefined> = {};
  before(() => {
    for (const name of names) saved[name] = process.env[name];
  });
  after(() => {
    for (const name of names) {
      const value = saved[name];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('has no effect: requests go direct or are denied, never to the proxy', async () => {
    const proxy = await startServer(reply(200, {}, 'from proxy'));
    const target = await startServer(reply(200, {}, 'direct'));
    for (const name of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy']) {
      process.env[name] = `http://127.0.0.1:${proxy.port}`;
    }
    delete process.env['NO_PROXY'];
    delete process.env['no_proxy'];
    const fetch = guard(policy({ loopbackHosts: ['api.test'] }).decide).fetchFor({ connector: 'crm' });
    assert.equal(await (await fetch(`http://api.test:${target.port}/`)).text(), 'direct');
    await rejectsWith(fetch('http://private.test/'), 'EGRESS_DENIED');
    await rejectsWith(fetch(`http://127.0.0.1:${target.port}/`), 'EGRESS_DENIED');
    assert.equal(target.received.length, 1);
    assert.equal(proxy.received.length, 0);
    assert.equal(proxy.connections, 0);
  });
});

describe('limits', () => {
  it('caps a streamed response body', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(1000, 1));
      res.end(Buffer.alloc(1000, 2));
    });
    const fetch = guard(policy({ loopbackHosts: ['api.test'] }).decide, { maxResponseBytes: 1500 }).fetchFor({
      connector: 'crm',
    });
    const response = await fetch(`http://api.test:${server.port}/big`);
    assert.equal(response.headers.get('content-length'), null);
    await rejectsWith(response.arrayBuffer(), 'RESPONSE_TOO_LARGE');
  });

  it('refuses a response whose declared length is over the cap', async () => {
    const server = await startServer(reply(200, { 'content-length': '2000' }, 'x'.repeat(2000)));
    const fetch = guard(policy({ loopbackHosts: ['api.test'] }).decide, { maxResponseBytes: 1500 }).fetchFor({
      connector: 'crm',
    });
    await rejectsWith(fetch(`http://api.test:${server.port}/big`), 'RESPONSE_TOO_LARGE');
  });

  it('lets a body up to the cap through', async () => {
    const server = await startServer(reply(200, {}, 'y'.repeat(1500)));
    const fetch = guard(policy({ loopbackHosts: ['api.test'] }).decide, { maxResponseBytes: 1500 }).fetchFor({
      connector: 'crm',
    });
    assert.equal((await (await fetch(`http://api.test:${server.port}/`)).text()).length, 1500);
  });

  it('times out a request whose response never comes', async () => {
    const server = await startServer(() => {
      // never answers
    });
    const fetch = guard(policy({ loopbackHosts: ['api.test'] }).decide, { timeoutMs: 200 }).fetchFor({
      connector: 'crm',
    });
    await rejectsWith(fetch(`http://api.test:${server.port}/slow`), 'UPSTREAM_TIMEOUT');
    assert.equal(server.received.length, 1);
  });

  it('times out a body that stops arriving', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200);
      res.write('partial');
    });
    const fetch = guard(policy({ loopbackHosts: ['api.test'] }).decide, { timeoutMs: 300 }).fetchFor({
      connector: 'crm',
    });
    const response = await fetch(`http://api.test:${server.port}/stall`);
    assert.equal(response.status, 200);
    await rejectsWith(response.text(), 'UPSTREAM_TIMEOUT');
  });

  it("honours the caller's signal with the caller's reason", async () => {
    const server = await startServer(() => {
      // never answers
    });
    const fetch = guard(policy({ loopbackHosts: ['api.test'] }).decide).fetchFor({ connector: 'crm' });
    const controller = new AbortController();
    const pending = fetch(`http://api.test:${server.port}/slow`, { signal: controller.signal });
    const reason = new Error('caller gave up');
    // Abort once the request has reached the server, so the abort interrupts a request in flight.
    while (server.received.length === 0) await new Promise((resolve) => setImmediate(resolve));
    controller.abort(reason);
    await assert.rejects(pending, (error: unknown) => error === reason);
  });

  it('fails requests after close', async () => {
    const g = guard(policy().decide);
    const fetch = g.fetchFor({ connector: 'crm' });
    await g.close();
    await rejectsWith(fetch('http://public.test/'), 'UPSTREAM_UNAVAILABLE');
  });
});
