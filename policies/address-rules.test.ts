/**
 * Egress rules about addresses and address classes, over every spelling of an address: a rule written
 * about an IPv4 address or a class must decide each IPv6 form that leads to the same place the same way.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicy } from './engine.js';
import { parsePolicyObject } from './parse.js';
import type { AddressClass } from './types.js';
import { classifyAddress } from './address.js';

/** Every way to write one IPv4 address as an IPv6 address that leads to it. */
function spellings(v4: string): string[] {
  const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
  const hi = ((a << 8) | b).toString(16);
  const lo = ((c << 8) | d).toString(16);
  return [
    v4,
    `::ffff:${v4}`, // IPv4-mapped, dotted
    `::ffff:${hi}:${lo}`, // IPv4-mapped, hex
    `0:0:0:0:0:ffff:${hi}:${lo}`, // IPv4-mapped, uncompressed
    `::ffff:0:${hi}:${lo}`, // IPv4-translated
    `::${v4}`, // IPv4-compatible
    `64:ff9b::${v4}`, // NAT64 well-known prefix, dotted
    `64:ff9b::${hi}:${lo}`, // NAT64 well-known prefix, hex
    `64:ff9b:1::${hi}:${lo}`, // NAT64 local-use prefix, /96 embedding
    `2002:${hi}:${lo}::`, // 6to4
    `2002:${hi}:${lo}:1::1`, // 6to4, another host on the same site
  ];
}

/** One address of each class, as an IPv4 address where the class has one. */
const REPRESENTATIVES: [AddressClass, string][] = [
  ['loopback', '127.0.0.1'],
  ['private', '10.1.2.3'],
  ['private', '192.168.7.9'],
  ['link-local', '169.254.10.20'],
  ['metadata', '169.254.169.254'],
  ['metadata', '168.63.129.16'],
  ['cgnat', '100.64.1.1'],
  ['unspecified', '0.0.0.0'],
  ['multicast', '224.0.0.251'],
  ['broadcast', '255.255.255.255'],
  ['reserved', '240.0.0.1'],
  ['public', '8.8.8.8'],
];

function engineOf(rules: unknown[]) {
  return compilePolicy([parsePolicyObject({ version: 1, name: 'test', rules }, 'test.yaml')]);
}

function decideAt(engine: ReturnType<typeof engineOf>, ip: string, host = 'svc.example') {
  // The class the guard would report for this spelling.
  return engine.evaluateEgress({
    connector: 'svc',
    scheme: 'https',
    host,
    port: 443,
    ip,
    addressClass: classifyAddress(ip),
  });
}

describe('address classes over every spelling', () => {
  for (const [cls, v4] of REPRESENTATIVES) {
    for (const ip of spellings(v4)) {
      // `::0.0.0.0` is `::`, IPv6's own unspecified address; `::255.255.255.255` is IPv4-compatible.
      it(`${ip} is ${cls}`, () => {
        assert.equal(classifyAddress(ip), cls);
      });
    }
  }
});

describe('a deny rule about an IPv4 address or class holds for every spelling', () => {
  for (const [cls, v4] of REPRESENTATIVES.filter(([c]) => c !== 'public')) {
    // Next to an allow rule that opens the NAT64 and 6to4 prefixes and every class: only the deny can stop it.
    const open = {
      id: 'open-everything',
      effect: 'allow',
      connector: 'svc',
      egress: {
        hosts: ['svc.example'],
        cidrs: ['64:ff9b::/96', '64:ff9b:1::/48', '2002::/16', '::ffff:0:0/96', '0.0.0.0/0'],
        classes: [cls],
      },
    };
    const byCidr = engineOf([open, { id: 'deny-cidr', effect: 'deny', egress: { cidrs: [`${v4}/32`] } }]);
    const byClass = engineOf([open, { id: 'deny-class', effect: 'deny', egress: { classes: [cls] } }]);
    for (const ip of spellings(v4)) {
      it(`${ip}: denied by ${v4}/32 and by class ${cls}`, () => {
        const cidrDecision = decideAt(byCidr, ip);
        assert.equal(cidrDecision.effect, 'deny', cidrDecision.reason);
        assert.deepEqual(cidrDecision.rules, ['deny-cidr']);
        const classDecision = decideAt(byClass, ip);
        assert.equal(classDecision.effect, 'deny', classDecision.reason);
        assert.deepEqual(classDecision.rules, ['deny-class']);
      });
    }
  }
});

describe('an allow rule opens a non-public destination only when it names it', () => {
  for (const [cls, v4] of REPRESENTATIVES.filter(([c]) => c !== 'public')) {
    const byClass = engineOf([
      { id: 'by-class', effect: 'allow', connector: 'svc', egress: { hosts: ['svc.example'], classes: [cls] } },
    ]);
    const byCidr = engineOf([
      { id: 'by-cidr', effect: 'allow', connector: 'svc', egress: { hosts: ['svc.example'], cidrs: [`${v4}/32`] } },
    ]);
    const byPrefix = engineOf([
      {
        id: 'nat64-prefix',
        effect: 'allow',
        connector: 'svc',
        egress: { hosts: ['svc.example'], cidrs: ['64:ff9b::/96', '2002::/16', '::ffff:0:0/96'] },
      },
    ]);
    const unnamed = engineOf([
      { id: 'host-only', effect: 'allow', connector: 'svc', egress: { hosts: ['svc.example'] } },
    ]);
    for (const ip of spellings(v4)) {
      it(`${ip}: opened by class ${cls} and by ${v4}/32, not by a prefix or the host alone`, () => {
        assert.equal(decideAt(byClass, ip).effect, 'allow');
        assert.equal(decideAt(byCidr, ip).effect, 'allow');
        assert.equal(decideAt(byPrefix, ip).effect, 'deny');
        assert.equal(decideAt(unnamed, ip).effect, 'deny');
      });
    }
  }

  it('a public address needs no naming, in any spelling', () => {
    const engine = engineOf([
      { id: 'host-only', effect: 'allow', connector: 'svc', egress: { hosts: ['svc.example'] } },
    ]);
    for (const ip of spellings('8.8.8.8')) assert.equal(decideAt(engine, ip).effect, 'allow', ip);
  });

  it('naming one class opens only that class', () => {
    const engine = engineOf([
      { id: 'loopback', effect: 'allow', connector: 'svc', egress: { hosts: ['svc.example'], classes: ['loopback'] } },
    ]);
    assert.equal(decideAt(engine, '127.0.0.1').effect, 'allow');
    assert.equal(decideAt(engine, '10.0.0.1').effect, 'deny');
    assert.equal(decideAt(engine, '169.254.169.254').effect, 'deny');
    assert.equal(decideAt(engine, '::1').effect, 'allow');
  });

  it('IPv6-only classes: unique-local, link-local and the IPv6 metadata address', () => {
    const engine = engineOf([
      {
        id: 'v6',
        effect: 'allow',
        connector: 'svc',
        egress: { hosts: ['svc.example'], classes: ['unique-local', 'link-local'] },
      },
      { id: 'no-metadata', effect: 'deny', egress: { classes: ['metadata'] } },
    ]);
    assert.equal(decideAt(engine, 'fd12:3456::1').effect, 'allow');
    assert.equal(decideAt(engine, 'fe80::1').effect, 'allow');
    const metadata = decideAt(engine, 'fd00:ec2::254');
    assert.equal(metadata.effect, 'deny');
    assert.deepEqual(metadata.rules, ['no-metadata']);
  });

  it('an address-only rule matches by class before resolution never', () => {
    const engine = engineOf([{ id: 'lab', effect: 'allow', connector: 'svc', egress: { classes: ['private'] } }]);
    assert.equal(
      engine.evaluateEgress({ connector: 'svc', scheme: 'https', host: 'svc.example', port: 443 }).effect,
      'deny',
    );
    assert.equal(decideAt(engine, '::ffff:192.168.1.1').effect, 'allow');
  });
});

describe('the class of the address itself', () => {
  const engine = engineOf([
    { id: 'host-only', effect: 'allow', connector: 'svc', egress: { hosts: ['svc.example'] } },
    { id: 'no-metadata', effect: 'deny', egress: { classes: ['metadata'] } },
  ]);
  const at = (ip: string, addressClass?: AddressClass) =>
    engine.evaluateEgress({
      connector: 'svc',
      scheme: 'https',
      host: 'svc.example',
      port: 443,
      ip,
      ...(addressClass === undefined ? {} : { addressClass }),
    });

  it('is classified by the rules when the facts do not state it', () => {
    assert.deepEqual(at('::ffff:169.254.169.254').rules, ['no-metadata']);
    assert.equal(at('10.0.0.1').effect, 'deny');
    assert.equal(at('8.8.8.8').effect, 'allow');
  });

  it('is the class the facts state, while embedded IPv4 addresses are classified here', () => {
    assert.equal(at('10.0.0.1', 'public').effect, 'allow');
    assert.equal(at('8.8.8.8', 'private').effect, 'deny');
    assert.deepEqual(at('64:ff9b::a9fe:a9fe', 'public').rules, ['no-metadata']);
  });
});

describe('classes in the policy language', () => {
  it('rejects an unknown class with the path to it', () => {
    assert.throws(
      () =>
        parsePolicyObject(
          { version: 1, rules: [{ id: 'x', effect: 'allow', egress: { classes: ['intranet'] } }] },
          'p.yaml',
        ),
      /rules\.0\.egress\.classes\.0/,
    );
  });
});
