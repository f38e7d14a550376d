import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Request, Response } from 'express';
import fc from 'fast-check';
import { hostOriginGuard, isLoopbackListen, parseHostHeader } from './host-origin.js';

function run(guard: ReturnType<typeof hostOriginGuard>, headers: Record<string, string>): number {
  let status = 0;
  const res = { status: (s: number) => ((status = s), res), json: () => res } as unknown as Response;
  guard({ headers } as Request, res, () => (status = 200));
  return status;
}

const loopback = hostOriginGuard({
  listenHost: '127.0.0.1',
  allowedHosts: [],
  allowedOrigins: ['https://console.example.com'],
});

/** A port suffix or none. */
const port = fc.oneof(
  fc.constant(''),
  fc.integer({ min: 1, max: 65535 }).map((p) => `:${p}`),
);
/** A trailing dot or none. */
const dot = fc.constantFrom('', '.');
/** Names that look like loopback to a prefix or suffix comparison. */
const lookalikePrefix = fc.constantFrom('', '127.', '127.0.0.1.', '127.1.', 'localhost.', 'www.localhost.', '0x7f.');
const lookalikeSuffix = fc.constantFrom('', '.127.0.0.1', '.localhost', '-127.0.0.1');
/** Internationalised labels: letters outside ASCII, as an attacker may register them. */
const idnLabel = fc
  .array(fc.constantFrom('ü', 'ß', 'é', 'ı', 'к', 'л', '例', 'ℓ', 'ｌ', 'a', 'o', 'l', '1', '2', '7'), {
    minLength: 1,
    maxLength: 12,
  })
  .map((chars) => chars.join(''))
  .filter((label) => /\p{L}/u.test(label));
const idnName = fc
  .tuple(fc.array(idnLabel, { minLength: 1, maxLength: 3 }), fc.constantFrom('example', 'рф', '中国', 'nip.io'))
  .map(([labels, tld]) => `${labels.join('.')}.${tld}`);
/** Names whose last label is alphabetic, so no URL parser reads them as an IP address. */
const dnsName = fc.oneof(fc.domain(), idnName);

describe('Host/Origin guard', () => {
  it('accepts loopback hosts on a loopback listener', () => {
    for (const host of ['127.0.0.1:8787', 'localhost:8787', '[::1]:8787', 'LOCALHOST', '127.0.0.1', '127.8.9.10:1'])
      assert.equal(run(loopback, { host }), 200, host);
  });

  it('refuses names that only start or end like loopback, trailing-dot names and malformed hosts', () => {
    for (const host of [
      '127.evil.example',
      '127.0.0.1.nip.io',
      '127.0.0.1.nip.io:8787',
      'localhost.',
      'localhost.attacker.example',
      'attacker.example:8787',
      'localhost@attacker.example',
      'attacker.example/localhost',
      '127.0.0.1 ',
      'bücher.example',
      '',
    ])
      assert.equal(run(loopback, { host }), 403, host);
    assert.equal(run(loopback, {}), 403, 'no Host header');
  });

  it('gives a host the same verdict however often and in whatever order hosts are asked', () => {
    const guard = hostOriginGuard({ listenHost: '127.0.0.1', allowedHosts: ['gw.example.com'], allowedOrigins: [] });
    const sequence: Array<[string, number]> = [
      ['attacker.example', 403],
      ['attacker.example', 403],
      ['127.0.0.1:8787', 200],
      ['127.0.0.1:8787', 200],
      ['127.0.0.1.nip.io:8787', 403],
      ['127.0.0.1:8787', 200],
      ['gw.example.com', 200],
      ['attacker.example', 403],
      ['gw.example.com', 200],
      ['gw.example.com.', 403],
      ['gw.example.com.', 403],
    ];
    for (const [host, status] of sequence) assert.equal(run(guard, { host }), status, host);
  });

  it('property: no DNS name (lookalike prefixes/suffixes, IDN, trailing dots, ports) passes as loopback', () => {
    fc.assert(
      fc.property(lookalikePrefix, dnsName, lookalikeSuffix, dot, port, (prefix, name, suffix, trailing, p) => {
        const host = `${prefix}${name}${suffix}${trailing}${p}`;
        fc.pre(!/^localhost\.?(:\d+)?$/.test(host));
        assert.equal(run(loopback, { host }), 403, host);
        // The punycode form a browser would actually send is refused as well.
        const ascii = parseHostHeader(host.replace(/[^\x21-\x7e]/gu, 'x'));
        if (ascii !== undefined) assert.equal(run(loopback, { host: ascii.hostname }), 403, ascii.hostname);
        assert.equal(run(loopback, { host: 'localhost:8787', origin: `http://${host}` }), 403, `origin ${host}`);
      }),
      { numRuns: 500 },
    );
  });

  it('property: an IPv4 literal is loopback exactly when it is in 127.0.0.0/8, with or without a trailing dot', () => {
    fc.assert(
      fc.property(fc.ipV4(), dot, port, (ip, trailing, p) => {
        const expected = ip.startsWith('127.') ? 200 : 403;
        assert.equal(run(loopback, { host: `${ip}${trailing}${p}` }), expected, ip);
        assert.equal(run(loopback, { host: 'localhost', origin: `http://${ip}${p}` }), expected, `origin ${ip}`);
      }),
      { numRuns: 500 },
    );
  });

  it('property: an IPv6 literal is loopback only when it is ::1', () => {
    fc.assert(
      fc.property(fc.ipV6(), port, (ip, p) => {
        const isLoopback = new URL(`http://[${ip}]`).hostname === '[::1]';
        assert.equal(run(loopback, { host: `[${ip}]${p}` }), isLoopback ? 200 : 403, ip);
      }),
    );
  });

  it('rejects a foreign Origin and accepts configured and loopback ones', () => {
    assert.equal(run(loopback, { host: 'localhost:8787', origin: 'https://evil.example' }), 403);
    assert.equal(run(loopback, { host: 'localhost:8787', origin: 'https://console.example.com' }), 200);
    assert.equal(run(loopback, { host: 'localhost:8787', origin: 'http://localhost:6274' }), 200);
    for (const origin of [
      'http://127.evil.example',
      'http://127.0.0.1.nip.io:8787',
      'http://localhost.',
      'null',
      'file://localhost',
      'http://localhost/path',
    ])
      assert.equal(run(loopback, { host: 'localhost:8787', origin }), 403, origin);
  });

  it('enforces exact allowedHosts on other listeners', () => {
    const guard = hostOriginGuard({
      listenHost: '0.0.0.0',
      allowedHosts: ['gw.example.com', 'pinned.example.com:8443'],
      allowedOrigins: [],
    });
    assert.equal(run(guard, { host: 'gw.example.com' }), 200);
    assert.equal(run(guard, { host: 'GW.example.com:443' }), 200);
    assert.equal(run(guard, { host: 'pinned.example.com:8443' }), 200);
    for (const host of [
      'other.example.com',
      'gw.example.com.',
      'gw.example.com.attacker.example',
      'x.gw.example.com',
      'pinned.example.com:443',
      'localhost',
    ])
      assert.equal(run(guard, { host }), 403, host);
    assert.equal(run(guard, { host: 'gw.example.com', origin: 'http://localhost' }), 403);
    fc.assert(
      fc.property(dnsName, dot, port, (name, trailing, p) => {
        for (const host of [
          `gw.example.com.${name}${trailing}${p}`,
          `${name}.gw.example.com${trailing === '' ? '' : '.'}`,
        ])
          assert.equal(run(guard, { host }), 403, host);
      }),
    );
  });

  it('refuses a malformed allowedHosts entry at startup', () => {
    assert.throws(
      () => hostOriginGuard({ listenHost: '0.0.0.0', allowedHosts: ['https://gw.example.com/'], allowedOrigins: [] }),
      /allowedHosts/,
    );
  });

  it('recognises loopback listen addresses by parsing them', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'])
      assert.equal(isLoopbackListen(host), true, host);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '127.example.com', 'localhost.'])
      assert.equal(isLoopbackListen(host), false, host);
  });
});
