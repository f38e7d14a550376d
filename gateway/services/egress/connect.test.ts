import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { buildConnector } from 'undici';
import {
  createGuardedConnect,
  resolveAndCheck,
  type AddressDecider,
  type CheckedAddress,
  type ConnectTarget,
  type Lookup,
  type LookupAddress,
} from './connect.js';
import { EgressDeniedError, isEgressError } from './errors.js';

/** A plain TCP listener on 127.0.0.1 only, so 127.0.0.2 on the same port refuses the connection. */
let server: Server;
let port: number;
const accepted: Socket[] = [];
before(async () => {
  server = createServer((socket) => void accepted.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  for (const socket of accepted) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A resolver over a fixed table that records the names it was asked for. */
function resolver(table: Record<string, string[]>): { lookup: Lookup; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    lookup: async (hostname) => {
      asked.push(hostname);
      const answers = table[hostname];
      if (answers === undefined) throw new Error(`no such test host ${hostname}`);
      return answers.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
    },
  };
}

/** A decider that records every address it decided and denies the addresses listed. */
function decider(denied: string[] = []): { decide: AddressDecider; decided: [ConnectTarget, CheckedAddress][] } {
  const decided: [ConnectTarget, CheckedAddress][] = [];
  return {
    decided,
    decide: (target, address) => {
      decided.push([target, address]);
      return denied.includes(address.ip)
        ? { ...target, ip: address.ip, addressClass: address.addressClass, rules: ['no'], reason: 'denied here' }
        : undefined;
    },
  };
}

const target = (host: string): ConnectTarget => ({ scheme: 'https', host, port: 443 });

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

describe('resolveAndCheck', () => {
  it('decides every answer of a name, in order, and returns them canonical and classified', async () => {
    const dns = resolver({ 'api.test': ['127.0.0.1', '0:0:0:0:0:0:0:1', '8.8.8.8'] });
    const d = decider();
    const checked = await resolveAndCheck(target('api.test'), dns.lookup, d.decide);
    const expected: CheckedAddress[] = [
      { ip: '127.0.0.1', addressClass: 'loopback' },
      { ip: '::1', addressClass: 'loopback' },
      { ip: '8.8.8.8', addressClass: 'public' },
    ];
    assert.deepEqual(checked, expected);
    assert.deepEqual(dns.asked, ['api.test']);
    assert.deepEqual(
      d.decided,
      expected.map((address) => [target('api.test'), address]),
    );
  });

  for (const [host, ip, addressClass] of [
    ['10.0.0.1', '10.0.0.1', 'private'],
    ['2130706433', '127.0.0.1', 'loopback'],
    ['::ffff:a9fe:a9fe', '::ffff:a9fe:a9fe', 'metadata'],
  ] as const) {
    it(`decides the literal ${host} as itself, without resolving it`, async () => {
      const dns = resolver({});
      const d = decider();
      assert.deepEqual(await resolveAndCheck(target(host), dns.lookup, d.decide), [{ ip, addressClass }]);
      assert.deepEqual(dns.asked, []);
      assert.equal(d.decided.length, 1);
    });
  }

  for (const host of ['localhost', 'api.localhost']) {
    it(`takes ${host} to be the local host whatever the resolver says`, async () => {
      const dns = resolver({ [host]: ['8.8.8.8'] });
      const checked = await resolveAndCheck(target(host), dns.lookup, decider().decide);
      assert.deepEqual(checked, [
        { ip: '127.0.0.1', addressClass: 'loopback' },
        { ip: '::1', addressClass: 'loopback' },
      ]);
      assert.deepEqual(dns.asked, []);
    });
  }

  it('resolves names that only contain "localhost"', async () => {
    const dns = resolver({ 'localhost.test': ['8.8.8.8'], notlocalhost: ['8.8.4.4'] });
    assert.deepEqual(await resolveAndCheck(target('localhost.test'), dns.lookup, decider().decide), [
      { ip: '8.8.8.8', addressClass: 'public' },
    ]);
    assert.deepEqual(await resolveAndCheck(target('notlocalhost'), dns.lookup, decider().decide), [
      { ip: '8.8.4.4', addressClass: 'public' },
    ]);
    assert.deepEqual(dns.asked, ['localhost.test', 'notlocalhost']);
  });

  it('refuses the whole name when one answer is denied, and decides no further', async () => {
    const dns = resolver({ 'mixed.test': ['8.8.8.8', '169.254.169.254', '10.0.0.1'] });
    const d = decider(['169.254.169.254', '10.0.0.1']);
    const error = await rejectsWith(
      resolveAndCheck(target('mixed.test'), dns.lookup, d.decide),
      'EGRESS_DENIED',
      'egress to mixed.test:443 denied: denied here',
    );
    assert.ok(error instanceof EgressDeniedError);
    assert.deepEqual(error.denial, {
      scheme: 'https',
      host: 'mixed.test',
      port: 443,
      ip: '169.254.169.254',
      addressClass: 'metadata',
      rules: ['no'],
      reason: 'denied here',
    });
    assert.deepEqual(
      d.decided.map(([, address]) => address.ip),
      ['8.8.8.8', '169.254.169.254'],
    );
  });

  it('refuses a denied first answer', async () => {
    const d = decider(['10.0.0.1']);
    await rejectsWith(
      resolveAndCheck(target('first.test'), resolver({ 'first.test': ['10.0.0.1', '8.8.8.8'] }).lookup, d.decide),
      'EGRESS_DENIED',
    );
    assert.equal(d.decided.length, 1);
  });

  it('refuses an answer that is not an IP address, before deciding it', async () => {
    const d = decider();
    const error = await rejectsWith(
      resolveAndCheck(target('odd.test'), resolver({ 'odd.test': ['8.8.8.8', 'evil.test'] }).lookup, d.decide),
      'EGRESS_DENIED',
      'egress to odd.test:443 denied: the resolver returned something that is not an IP address',
    );
    assert.deepEqual((error as EgressDeniedError).denial, {
      scheme: 'https',
      host: 'odd.test',
      port: 443,
      rules: [],
      reason: 'the resolver returned something that is not an IP address',
    });
    assert.deepEqual(
      d.decided.map(([, address]) => address.ip),
      ['8.8.8.8'],
    );
  });

  it('is UPSTREAM_UNAVAILABLE for a name that does not resolve or has no answers', async () => {
    const failure = await rejectsWith(
      resolveAndCheck(target('gone.test'), resolver({}).lookup, decider().decide),
      'UPSTREAM_UNAVAILABLE',
      'could not resolve gone.test',
    );
    assert.match(String((failure.cause as Error).message), /no such test host gone\.test/);
    const d = decider();
    await rejectsWith(
      resolveAndCheck(target('empty.test'), resolver({ 'empty.test': [] }).lookup, d.decide),
      'UPSTREAM_UNAVAILABLE',
      'could not resolve empty.test',
    );
    assert.deepEqual(d.decided, []);
  });
});

interface Recorded {
  connects: buildConnector.Options[];
  connected: [string, Socket, CheckedAddress][];
}

/**
 * A guarded connect over undici's real connector, recording what it was asked to open. Addresses in `fail`
 * are refused by this recorder instead (as a host without a route to them would).
 */
function guarded(
  table: Record<string, string[]>,
  options: { denied?: string[]; fail?: string[]; decide?: AddressDecider } = {},
): { connect: buildConnector.connector; recorded: Recorded; decided: [ConnectTarget, CheckedAddress][] } {
  const real = buildConnector({ timeout: 5_000 });
  const recorded: Recorded = { connects: [], connected: [] };
  const d = decider(options.denied);
  const connect = createGuardedConnect({
    base: (connectOptions, callback) => {
      recorded.connects.push({ ...connectOptions });
      if (options.fail?.includes(connectOptions.hostname) === true) {
        callback(new Error(`no route to ${connectOptions.hostname}`), null);
        return;
      }
      real(connectOptions, callback);
    },
    lookup: resolver(table).lookup,
    decideAddress: options.decide ?? d.decide,
    onConnected: (origin, socket, address) => void recorded.connected.push([origin, socket, address]),
  });
  return { connect, recorded, decided: d.decided };
}

/** Open one connection; resolves with the socket or rejects with the error the callback got. */
function open(connect: buildConnector.connector, options: Partial<buildConnector.Options>): Promise<Socket> {
  return new Promise((resolve, reject) => {
    connect({ protocol: 'http:', hostname: 'api.test', port: String(port), ...options }, (error, socket) => {
      if (error !== null) reject(error);
      else resolve(socket as Socket);
    });
  });
}

describe('createGuardedConnect', () => {
  it('connects to the checked address of the name, and reports the socket with its origin', async () => {
    const g = guarded({ 'api.test': ['127.0.0.1'] });
    const socket = await open(g.connect, { hostname: 'API.test', host: `api.test:${port}` });
    try {
      assert.equal(socket.remoteAddress, '127.0.0.1');
      assert.equal(socket.remotePort, port);
      assert.deepEqual(
        g.recorded.connects.map((c) => c.hostname),
        ['127.0.0.1'],
      );
      assert.deepEqual(g.decided, [
        [
          { scheme: 'http', host: 'api.test', port },
          { ip: '127.0.0.1', addressClass: 'loopback' },
        ],
      ]);
      assert.equal(g.recorded.connected.length, 1);
      const [origin, reported, address] = g.recorded.connected[0]!;
      assert.equal(origin, `http://api.test:${port}`);
      assert.equal(reported, socket);
      assert.deepEqual(address, { ip: '127.0.0.1', addressClass: 'loopback' });
    } finally {
      socket.destroy();
    }
  });

  it('names the origin by the host name when the options carry no host', async () => {
    const g = guarded({ 'api.test': ['127.0.0.1'] });
    const socket = await open(g.connect, { hostname: 'Api.Test' });
    socket.destroy();
    assert.equal(g.recorded.connected[0]![0], 'http://api.test');
  });

  it('tries the next checked address when one cannot be reached, and fails with the last error', async () => {
    const g = guarded({ 'api.test': ['::1', '127.0.0.2', '127.0.0.1'] }, { fail: ['::1'] });
    const socket = await open(g.connect, {});
    assert.equal(socket.remoteAddress, '127.0.0.1');
    socket.destroy();
    assert.deepEqual(
      g.recorded.connects.map((c) => c.hostname),
      ['::1', '127.0.0.2', '127.0.0.1'],
    );
    assert.deepEqual(
      g.recorded.connected.map(([, , address]) => address.ip),
      ['127.0.0.1'],
    );

    const none = guarded({ 'api.test': ['::1', '127.0.0.1'] }, { fail: ['::1', '127.0.0.1'] });
    await assert.rejects(open(none.connect, {}), { message: 'no route to 127.0.0.1' });
    assert.deepEqual(none.recorded.connected, []);

    const one = guarded({ 'api.test': ['127.0.0.1'] }, { fail: ['127.0.0.1'] });
    await assert.rejects(open(one.connect, {}), { message: 'no route to 127.0.0.1' });
    assert.equal(one.recorded.connects.length, 1);
  });

  it('hands the socket back when no one listens for connections (onConnected is optional)', async () => {
    const socket = { fake: 'socket' } as unknown as Socket;
    const opened: string[] = [];
    const connect = createGuardedConnect({
      base: (connectOptions, callback) => {
        opened.push(connectOptions.hostname);
        callback(null, socket);
      },
      lookup: resolver({ 'api.test': ['127.0.0.1'] }).lookup,
      decideAddress: decider().decide,
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the connect callback was never called')), 2_000);
    });
    try {
      assert.equal(await Promise.race([open(connect, {}), timeout]), socket);
    } finally {
      clearTimeout(timer);
    }
    assert.deepEqual(opened, ['127.0.0.1']);
  });

  it('opens nothing when an answer is denied', async () => {
    const g = guarded({ 'api.test': ['127.0.0.1', '10.0.0.1'] }, { denied: ['10.0.0.1'] });
    await assert.rejects(open(g.connect, {}), EgressDeniedError);
    assert.deepEqual(g.recorded.connects, []);
    assert.deepEqual(g.recorded.connected, []);
  });

  it('fails closed with EGRESS_DENIED when the decider throws something that is not an Error', async () => {
    const g = guarded(
      { 'api.test': ['127.0.0.1'] },
      {
        decide: () => {
          throw 'policy bug';
        },
      },
    );
    await rejectsWith(open(g.connect, {}), 'EGRESS_DENIED', 'egress to api.test denied');
    assert.deepEqual(g.recorded.connects, []);
  });

  it('passes on an Error from resolution as it is', async () => {
    const g = guarded({});
    await rejectsWith(open(g.connect, {}), 'UPSTREAM_UNAVAILABLE', 'could not resolve api.test');
  });

  it('sends SNI for the decided name, never the caller’s servername, and none for an IP literal', async () => {
    const g = guarded({ 'api.test': ['127.0.0.1'] }, { fail: ['127.0.0.1', '::1'] });
    await assert.rejects(open(g.connect, { protocol: 'https:', port: '', servername: 'evil.test' }));
    await assert.rejects(open(g.connect, { protocol: 'https:', hostname: '[::1]', port: '', servername: 'evil.test' }));
    await assert.rejects(open(g.connect, { protocol: 'http:', hostname: '127.0.0.1', port: '' }));
    assert.deepEqual(g.recorded.connects, [
      { protocol: 'https:', hostname: '127.0.0.1', port: '', servername: 'api.test' },
      { protocol: 'https:', hostname: '::1', port: '' },
      { protocol: 'http:', hostname: '127.0.0.1', port: '' },
    ]);
    assert.deepEqual(
      g.decided.map(([decidedTarget]) => decidedTarget),
      [
        { scheme: 'https', host: 'api.test', port: 443 },
        { scheme: 'https', host: '::1', port: 443 },
        { scheme: 'http', host: '127.0.0.1', port: 80 },
      ],
    );
  });

  it('decides the port given, and treats any protocol but https: as http', async () => {
    const g = guarded({ 'api.test': ['127.0.0.1'] }, { fail: ['127.0.0.1'] });
    await assert.rejects(open(g.connect, { protocol: 'https:', port: '8443' }));
    await assert.rejects(open(g.connect, { protocol: 'ws:', port: '' }));
    assert.deepEqual(
      g.decided.map(([decidedTarget]) => decidedTarget),
      [
        { scheme: 'https', host: 'api.test', port: 8443 },
        { scheme: 'http', host: 'api.test', port: 80 },
      ],
    );
  });

  it('keeps an unbalanced bracket in the host name', async () => {
    const g = guarded({ '[api.test': ['127.0.0.1'], 'api.test]': ['127.0.0.1'] }, { fail: ['127.0.0.1'] });
    await assert.rejects(open(g.connect, { hostname: '[api.test' }));
    await assert.rejects(open(g.connect, { hostname: 'api.test]' }));
    assert.deepEqual(
      g.decided.map(([decidedTarget]) => decidedTarget.host),
      ['[api.test', 'api.test]'],
    );
  });
});
