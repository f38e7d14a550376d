import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ServerContext } from '@modelcontextprotocol/server';
import type { Principal } from '../../kernel/index.js';
import { createInputBridge } from './input-bridge.js';
import { callDigest, createStateSealer, principalDigest } from './sealed-state.js';
import { respellBase64url } from '../../../test/helpers/base64url.js';

const alice: Principal = { agentId: 'alice', roles: [], authMethod: 'api-key' } as Principal;
const bob: Principal = { agentId: 'bob', roles: [], authMethod: 'api-key' } as Principal;
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return 'no error';
};

describe('sealed state', () => {
  let clock = 1_000_000_000_000;
  const sealer = createStateSealer(randomBytes(32), () => clock);
  const call = callDigest('tools/call', 'x', { a: 1 });
  const sealed = sealer.seal({ k: 'input', p: principalDigest(alice), c: call, exp: clock / 1000 + 60 });

  it('opens for the principal and call it was issued to', () => {
    assert.equal(sealer.open(sealed, { kind: 'input', principal: alice, call }).c, call);
  });

  it('refuses tampering, another principal, another call, another kind and expiry with stable codes', () => {
    const [v, body, mac] = sealed.split('.');
    assert.equal(
      codeOf(() => sealer.open(`${v}.${body}x.${mac}`, { kind: 'input', principal: alice, call })),
      'STATE_INVALID',
    );
    assert.equal(
      codeOf(() => sealer.open(42, { kind: 'input', principal: alice, call })),
      'STATE_INVALID',
    );
    assert.equal(
      codeOf(() => sealer.open(sealed, { kind: 'input', principal: bob, call })),
      'STATE_MISMATCH',
    );
    const other = callDigest('tools/call', 'x', { a: 2 });
    assert.equal(
      codeOf(() => sealer.open(sealed, { kind: 'input', principal: alice, call: other })),
      'STATE_MISMATCH',
    );
    assert.equal(
      codeOf(() => sealer.open(sealed, { kind: 'task', principal: alice })),
      'STATE_MISMATCH',
    );
    clock += 61_000;
    assert.equal(
      codeOf(() => sealer.open(sealed, { kind: 'input', principal: alice, call })),
      'STATE_EXPIRED',
    );
    // Another key never opens it.
    const stranger = createStateSealer(randomBytes(32), () => clock);
    assert.equal(
      codeOf(() => stranger.open(sealed, { kind: 'input', principal: alice, call })),
      'STATE_INVALID',
    );
  });

  it('checks every open of a value it has opened before, and keeps answering once its memory fills', () => {
    let now = 2_000_000_000_000;
    const own = createStateSealer(randomBytes(32), () => now);
    const handle = own.seal({ k: 'task', p: principalDigest(alice), t: 'task-1', exp: now / 1000 + 60 });
    const first = own.open(handle, { kind: 'task', principal: alice });
    assert.equal(own.open(handle, { kind: 'task', principal: alice }).t, 'task-1');
    assert.ok(Object.isFrozen(first), 'a remembered payload cannot be changed by one caller for the next');
    assert.equal(
      codeOf(() => own.open(handle, { kind: 'task', principal: bob })),
      'STATE_MISMATCH',
    );
    assert.equal(
      codeOf(() => own.open(handle, { kind: 'input', principal: alice })),
      'STATE_MISMATCH',
    );
    const [v, body, mac] = handle.split('.');
    const flipped = `${mac!.startsWith('A') ? 'B' : 'A'}${mac!.slice(1)}`;
    assert.equal(
      codeOf(() => own.open(`${v}.${body}.${flipped}`, { kind: 'task', principal: alice })),
      'STATE_INVALID',
    );
    // The same MAC bytes spelt differently: a 32-byte tag's last character carries two unused low bits.
    const respelt = respellBase64url(mac!);
    assert.notEqual(respelt, mac);
    assert.deepEqual(Buffer.from(respelt, 'base64url'), Buffer.from(mac!, 'base64url'), 'the same bytes');
    assert.equal(
      codeOf(() => own.open(`${v}.${body}.${respelt}`, { kind: 'task', principal: alice })),
      'STATE_INVALID',
    );
    // More distinct values than it remembers: each still opens, and so does the first again.
    for (let i = 0; i < 1100; i++) {
      const other = own.seal({ k: 'task', p: principalDigest(alice), t: `task-${i}`, exp: now / 1000 + 60 });
      assert.equal(own.open(other, { kind: 'task', principal: alice }).t, `task-${i}`);
    }
    assert.equal(own.open(handle, { kind: 'task', principal: alice }).t, 'task-1');
    now += 61_000;
    assert.equal(
      codeOf(() => own.open(handle, { kind: 'task', principal: alice })),
      'STATE_EXPIRED',
    );
  });
});

describe('principal digest', () => {
  it('tells principals apart by every field it binds, and gives each the same digest every time', () => {
    const base: Principal = { agentId: 'a', roles: [], authMethod: 'api-key' } as Principal;
    const variants: Principal[] = [
      base,
      { ...base, agentId: 'b' },
      { ...base, authMethod: 'task-token' } as Principal,
      { ...base, taskId: 't' },
      { ...base, tenant: 't' },
      { ...base, issuer: 'i' },
      { ...base, subject: 's' },
      // Fields that would run together if they were joined without structure.
      { ...base, issuer: 'x', subject: '' },
      { ...base, issuer: '', subject: 'x' },
    ];
    assert.equal(new Set(variants.map(principalDigest)).size, variants.length);
    assert.equal(principalDigest({ ...base, roles: ['admin'] }), principalDigest(base), 'roles are not bound');
    // More principals than the digests it remembers, asked for twice: the same answers.
    const many = Array.from({ length: 3000 }, (_, i) => ({ ...base, agentId: `agent-${i}` }));
    const first = many.map(principalDigest);
    assert.equal(new Set(first).size, many.length);
    assert.deepEqual(many.map(principalDigest), first);
    assert.deepEqual(variants.map(principalDigest), variants.map(principalDigest));
  });
});

describe('input bridge across instances', () => {
  it('a retry on an instance that does not hold the call is refused with STATE_NOT_HELD', async () => {
    const sealer = createStateSealer(randomBytes(32));
    const claimed = new Set<string>();
    const claims = { claim: async (id: string) => (claimed.has(id) ? false : (claimed.add(id), true)) };
    const here = createInputBridge({ sealer, claims, holdSeconds: 60 });
    const there = createInputBridge({ sealer, claims, holdSeconds: 60 });
    const ctx = (state?: string) =>
      ({
        mcpReq: {
          requestState: () => state,
          inputResponses: state === undefined ? undefined : { 'input-1': { action: 'accept', content: {} } },
          signal: new AbortController().signal,
          envelope: { 'io.modelcontextprotocol/clientCapabilities': { elicitation: {} } },
        },
      }) as unknown as ServerContext;
    const call = { method: 'tools/call', name: 't', args: {} };
    const first = await here.run(ctx(), alice, call, async (channel, signal) => {
      await channel.request('elicitation/create', { message: 'name?' }, signal);
      return { content: [] };
    });
    assert.equal(first['resultType'], 'input_required');
    await assert.rejects(
      there.run(ctx(first['requestState'] as string), alice, call, async () => ({})),
      (error: { code?: string }) => error.code === 'STATE_NOT_HELD',
    );
    // The claim was spent by the refused attempt: the state is single use everywhere.
    await assert.rejects(
      here.run(ctx(first['requestState'] as string), alice, call, async () => ({})),
      (error: { code?: string }) => error.code === 'STATE_REUSED',
    );
    here.close();
    there.close();
  });
});
