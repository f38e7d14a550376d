/**
 * The address primitives egress rules are built on, tested directly: classification of addresses with a zone,
 * the view of an address (its spellings and destinations) and the two ways a rule applies to a view.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ipaddr from 'ipaddr.js';
import { addressMatches, addressOpened, classifyAddress, viewAddress, type AddressView } from './address.js';
import type { AddressClass } from './types.js';

/** Teredo address: server IPv4 in bits 32-63, client IPv4 bit-inverted in the last 32 bits. */
function teredo(server: string, client: string): string {
  const s = ipaddr.IPv4.parse(server).toByteArray();
  const c = ipaddr.IPv4.parse(client)
    .toByteArray()
    .map((byte) => byte ^ 0xff);
  const hex = (hi: number, lo: number): string => ((hi << 8) | lo).toString(16);
  return `2001:0:${hex(s[0]!, s[1]!)}:${hex(s[2]!, s[3]!)}:0:0:${hex(c[0]!, c[1]!)}:${hex(c[2]!, c[3]!)}`;
}

function viewOf(ip: string, reportedClass?: AddressClass): AddressView {
  const view = viewAddress(ip, reportedClass);
  assert.ok(view !== undefined, `${ip} has a view`);
  return view;
}

const classes = (...names: AddressClass[]): ReadonlySet<AddressClass> => new Set(names);
const destinationsOf = (view: AddressView): [string, AddressClass][] =>
  view.destinations.map((d) => [d.ip.toString(), d.addressClass]);

describe('classifyAddress', () => {
  it('drops a zone before classifying, for IPv4 as for IPv6', () => {
    // ipaddr.js itself refuses an IPv4 address with a zone: only the text before `%` is an address.
    assert.equal(ipaddr.isValid('10.0.0.1%eth0'), false);
    assert.equal(classifyAddress('10.0.0.1%eth0'), 'private');
    assert.equal(classifyAddress('127.0.0.1%lo'), 'loopback');
    assert.equal(classifyAddress('fe80::1%eth0'), 'link-local');
  });

  it('refuses what is not an IP address with a TypeError that says so', () => {
    assert.throws(() => classifyAddress('svc.example'), { name: 'TypeError', message: 'not an IP address' });
    assert.throws(() => classifyAddress('%eth0'), { name: 'TypeError', message: 'not an IP address' });
  });

  it('classifies a Teredo address by the first of its two IPv4 addresses that is not public', () => {
    assert.equal(classifyAddress(teredo('8.8.8.8', '10.0.0.1')), 'private');
    assert.equal(classifyAddress(teredo('127.0.0.1', '10.0.0.1')), 'loopback');
  });
});

describe('viewAddress', () => {
  it('classifies the address itself when no class is reported, IPv4 and IPv6 alike', () => {
    assert.equal(viewOf('10.0.0.1').addressClass, 'private');
    assert.equal(viewOf('8.8.8.8').addressClass, 'public');
    assert.equal(viewOf('::1').addressClass, 'loopback');
    assert.equal(viewOf('fd00:ec2::254').addressClass, 'metadata');
    assert.equal(viewOf('2606:4700::1111').addressClass, 'public');
  });

  it('takes the reported class for the address itself', () => {
    const view = viewOf('10.0.0.1', 'public');
    assert.equal(view.addressClass, 'public');
    assert.deepEqual(destinationsOf(view), [['10.0.0.1', 'public']]);
  });

  it('drops a zone, for IPv4 as for IPv6', () => {
    const v4 = viewOf('10.0.0.1%eth0');
    assert.equal(v4.addressClass, 'private');
    assert.deepEqual(
      v4.spellings.map((s) => s.toString()),
      ['10.0.0.1'],
    );
    assert.equal(viewOf('fe80::1%eth0').addressClass, 'link-local');
  });

  it('is undefined for what is not an IP address, rather than throwing', () => {
    assert.equal(viewAddress('svc.example'), undefined);
    assert.equal(viewAddress('10.0.0.256'), undefined);
    assert.equal(viewAddress('', 'public'), undefined);
  });

  it('lists each embedded IPv4 address as a spelling and a destination', () => {
    const view = viewOf(teredo('8.8.8.8', '10.0.0.1'));
    assert.equal(view.addressClass, 'private');
    assert.deepEqual(
      view.spellings.map((s) => s.toString()),
      [teredo('8.8.8.8', '10.0.0.1').replace(':0:0:', '::'), '8.8.8.8', '10.0.0.1'],
    );
    assert.deepEqual(destinationsOf(view), [
      ['8.8.8.8', 'public'],
      ['10.0.0.1', 'private'],
    ]);
  });

  it('keeps an ambiguous NAT64 local-use address as its own, reserved destination', () => {
    // Bits 48-95 are not zero: the embedding depends on the deployment's prefix length.
    const view = viewOf('64:ff9b:1:1::a9fe:a9fe');
    assert.equal(view.addressClass, 'reserved');
    assert.deepEqual(
      view.spellings.map((s) => s.toString()),
      ['64:ff9b:1:1::a9fe:a9fe'],
    );
    assert.deepEqual(destinationsOf(view), [['64:ff9b:1:1::a9fe:a9fe', 'reserved']]);
  });
});

describe('addressMatches', () => {
  it('matches on the class of the address itself, even when no destination has that class', () => {
    // The reported class stands for the address; its NAT64 destination is public.
    const view = viewOf('64:ff9b::808:808', 'metadata');
    assert.deepEqual(destinationsOf(view), [['8.8.8.8', 'public']]);
    assert.equal(addressMatches(view, [], classes('metadata')), true);
    assert.equal(addressMatches(view, [], classes('private')), false);
  });

  it('matches when any one destination has a named class', () => {
    const view = viewOf(teredo('8.8.8.8', '10.0.0.1'), 'public');
    assert.equal(addressMatches(view, [], classes('private')), true);
    assert.equal(addressMatches(view, [], classes('loopback')), false);
  });
});

describe('addressOpened', () => {
  it('opens a public address without naming anything', () => {
    assert.equal(addressOpened(viewOf('8.8.8.8'), [], classes()), true);
    assert.equal(addressOpened(viewOf('2606:4700::1111'), [], classes()), true);
  });

  it('asks only about the destinations that are not public', () => {
    // Server public, client private: naming the private class opens it, the public server needs no naming.
    const view = viewOf(teredo('8.8.8.8', '10.0.0.1'));
    assert.equal(addressOpened(view, [], classes('private')), true);
    assert.equal(addressOpened(view, [ipaddr.parseCIDR('10.0.0.1/32')], classes()), true);
    assert.equal(addressOpened(view, [], classes('public')), false);
  });

  it('needs every destination that is not public to be named', () => {
    const view = viewOf(teredo('10.0.0.1', '127.0.0.1'));
    assert.equal(addressOpened(view, [], classes('private')), false);
    assert.equal(addressOpened(view, [], classes('loopback')), false);
    assert.equal(addressOpened(view, [], classes('private', 'loopback')), true);
    assert.equal(addressOpened(view, [ipaddr.parseCIDR('127.0.0.0/8')], classes('private')), true);
  });

  it('asks for the class of the address itself when no destination carries it', () => {
    // Reported private, while the only destination (inside NAT64) is public.
    const view = viewOf('64:ff9b::808:808', 'private');
    assert.equal(addressOpened(view, [], classes()), false);
    assert.equal(addressOpened(view, [], classes('public')), false);
    assert.equal(addressOpened(view, [], classes('private')), true);
  });
});
