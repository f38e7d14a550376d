import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AddressClass } from '../../../policies/types.js';
import { classifyAddress, parseHostLiteral } from './address.js';

describe('classifyAddress', () => {
  const cases: [string, AddressClass][] = [
    // public
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['172.32.0.1', 'public'],
    ['100.128.0.1', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['2001:4860:4860::8888', 'public'],
    // private
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    // loopback
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    // link-local
    ['169.254.0.1', 'link-local'],
    ['169.254.170.2', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    // metadata, before the broader classes that contain them
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['100.100.100.200', 'metadata'],
    // cgnat
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.254', 'cgnat'],
    // unique-local
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    // unspecified
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    // multicast
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    // broadcast
    ['255.255.255.255', 'broadcast'],
    // reserved
    ['240.0.0.1', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['198.19.255.255', 'reserved'],
    ['198.51.100.7', 'reserved'],
    ['203.0.113.9', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['100::1', 'reserved'],
    ['192.88.99.1', 'reserved'],
    ['fec0::1', 'reserved'],
    ['2001:100::1', 'reserved'],
    ['2001:1ff:ffff::1', 'reserved'],
    ['2001:200::1', 'public'],
    ['3fff::1', 'reserved'],
    ['5f00::1', 'reserved'],
    // IPv4-mapped and IPv4-translated
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['::ffff:0:7f00:1', 'loopback'],
    // IPv4-compatible
    ['::127.0.0.1', 'loopback'],
    ['::a9fe:a9fe', 'metadata'],
    ['::2', 'unspecified'], // 0.0.0.2: only `::` and `::1` are IPv6's own
    ['::1:0', 'unspecified'], // 0.1.0.0
    // NAT64
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['64:ff9b::808:808', 'public'],
    ['64:ff9b:1::a00:1', 'private'],
    ['64:ff9b:1:7f00:1::', 'reserved'], // local-use prefix with a non-/96 embedding: ambiguous, fail closed
    // 6to4
    ['2002:7f00:1::', 'loopback'],
    ['2002:c0a8:101::1', 'private'],
    ['2002:808:808::1', 'public'],
    // Teredo: server 65.54.227.120 (public), client is the inverted last 32 bits
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback'], // client ~80fffffe = 127.0.0.1
    ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'public'], // client 8.8.8.8
    ['2001:0:4136:e378:8000:63bf:f5ff:fffe', 'private'], // client 10.0.0.1
    ['2001:0:a00:1:8000:63bf:f7f7:f7f7', 'private'], // server 10.0.0.1
  ];
  for (const [ip, expected] of cases) {
    it(`${ip} is ${expected}`, () => {
      assert.equal(classifyAddress(ip), expected);
    });
  }

  it('throws on something that is not an address', () => {
    for (const text of ['example.com', '', '1.2.3.4.5', '[::1]', '256.0.0.1']) {
      assert.throws(() => classifyAddress(text), TypeError, text);
    }
  });
});

describe('parseHostLiteral', () => {
  const cases: [string, string | undefined][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0x7f.0.0.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.1', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['0xA9.0xFE.0xA9.0xFE', '169.254.169.254'],
    ['127.0.0.1.', '127.0.0.1'],
    ['[::1]', '::1'],
    ['::1', '::1'],
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1'],
    ['[64:FF9B::7F00:1]', '64:ff9b::7f00:1'],
    ['[fe80::1%25eth0]', 'fe80::1'],
    ['0X7F.0.0.1', '127.0.0.1'],
    ['FE80::1%ETH0', 'fe80::1'],
    [' 127.0.0.1\t', '127.0.0.1'],
    [' [::1] ', '::1'],
    // Only a whole bracketed host loses its brackets, and only an IPv6 address has a zone.
    ['[::1', undefined],
    ['a::1]', undefined],
    ['127.0.0.1%eth0', undefined],
    ['::1.', undefined],
    ['api.test', undefined],
    ['localhost', undefined],
    ['127.0.0.1.nip.io', undefined],
    ['0x7f.example', undefined],
    ['', undefined],
    ['256.0.0.1', undefined],
  ];
  for (const [host, expected] of cases) {
    it(`${JSON.stringify(host)} -> ${String(expected)}`, () => {
      assert.equal(parseHostLiteral(host), expected);
    });
  }

  // WHATWG URL parsing already turns these forms into dotted quads; the class must follow the result.
  const urlCases: [string, AddressClass][] = [
    ['http://2130706433/', 'loopback'],
    ['http://0x7f000001/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['http://0xa9fea9fe/', 'metadata'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[::ffff:7f00:1]/', 'loopback'],
    ['http://[64:ff9b::7f00:1]/', 'loopback'],
  ];
  for (const [url, expected] of urlCases) {
    it(`host of ${url} is ${expected}`, () => {
      const literal = parseHostLiteral(new URL(url).hostname);
      assert.ok(literal !== undefined);
      assert.equal(classifyAddress(literal), expected);
    });
  }
});
