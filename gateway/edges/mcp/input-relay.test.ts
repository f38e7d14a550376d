import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../../kernel/index.js';
import { createInputRelay, heldCallId, holderOf, type RelayedRetry } from './input-relay.js';
import type { InstanceMessage, InstanceMessages } from '../../services/instances/index.js';
import { createSharedEventBus } from './shared-event-bus.js';

/** Instances in one process, with pub/sub semantics: a message to an instance nobody serves is dropped. */
function createHub() {
  type Listener = (message: InstanceMessage, from: string) => void;
  const direct = new Map<string, Set<Listener>>();
  const broadcast = new Map<string, Set<Listener>>();
  const lost = new Map<string, Set<(reason: string) => void>>();
  const deliver = (listeners: Iterable<Listener> | undefined, message: InstanceMessage, from: string) =>
    queueMicrotask(() => {
      for (const listener of listeners ?? []) listener(structuredClone(message), from);
    });
  const add = <T>(map: Map<string, Set<T>>, id: string, item: T) => {
    const set = map.get(id) ?? new Set<T>();
    map.set(id, set);
    set.add(item);
    return () => void set.delete(item);
  };
  return {
    instance(id: string, options: { deaf?: boolean } = {}): InstanceMessages {
      return {
        instanceId: id,
        async broadcast(message) {
          for (const listeners of broadcast.values()) deliver(listeners, message, id);
        },
        async send(to, message) {
          const listeners = direct.get(to);
          if (listeners === undefined || listeners.size === 0) return false;
          if (options.deaf !== true) deliver(listeners, message, id);
          return true;
        },
        async listening(to) {
          return (direct.get(to)?.size ?? 0) > 0;
        },
        onBroadcast: (listener) => add(broadcast, id, listener),
        onDirect: (listener) => add(direct, id, listener),
        onLost: (listener) => add(lost, id, listener),
        available: () => true,
      };
    },
    lose(id: string) {
      for (const listener of lost.get(id) ?? []) listener('dropped');
    },
  };
}

const retry: RelayedRetry = { held: 'b/1', keys: ['input-1'], responses: { 'input-1': {} }, principal: 'p', call: 'c' };

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof GatewayError, String(error));
    return error.code;
  }
  assert.fail('expected a refusal');
}

describe('input relay', () => {
  it('names the holding instance in the held-call id', () => {
    assert.equal(holderOf(heldCallId('instance-7')), 'instance-7');
    assert.equal(holderOf('a-bare-uuid'), undefined);
  });

  it("answers with the holder's result, and hands the holder the checked retry", async () => {
    const hub = createHub();
    const a = createInputRelay({ messages: hub.instance('a') });
    const b = createInputRelay({ messages: hub.instance('b') });
    const seen: RelayedRetry[] = [];
    b.serve(async (r) => {
      seen.push(r);
      return { content: [{ type: 'text', text: 'done' }] };
    });
    assert.deepEqual(await a.forward('b', retry), { content: [{ type: 'text', text: 'done' }] });
    assert.deepEqual(seen, [retry]);
    a.close();
    b.close();
  });

  it("gives the holder's error with its code", async () => {
    const hub = createHub();
    const a = createInputRelay({ messages: hub.instance('a') });
    const b = createInputRelay({ messages: hub.instance('b') });
    b.serve(async () => {
      throw new GatewayError('STATE_NOT_HELD', 'the call ended');
    });
    assert.equal(await refusal(a.forward('b', retry)), 'STATE_NOT_HELD');
    a.close();
    b.close();
  });

  it('refuses with STATE_NOT_HELD when no instance listens on the holder channel', async () => {
    const hub = createHub();
    const a = createInputRelay({ messages: hub.instance('a') });
    assert.equal(await refusal(a.forward('gone', retry)), 'STATE_NOT_HELD');
    a.close();
  });

  it('refuses with STORE_UNAVAILABLE when the holder listens but cannot be heard', async () => {
    const hub = createHub();
    const a = createInputRelay({ messages: hub.instance('a', { deaf: true }), silenceMs: 50 });
    const b = createInputRelay({ messages: hub.instance('b') });
    b.serve(async () => ({}));
    assert.equal(await refusal(a.forward('b', retry)), 'STORE_UNAVAILABLE');
    a.close();
    b.close();
  });

  it('refuses with STORE_UNAVAILABLE when this instance stops hearing messages while it waits', async () => {
    const hub = createHub();
    const a = createInputRelay({ messages: hub.instance('a') });
    const b = createInputRelay({ messages: hub.instance('b') });
    b.serve(() => new Promise(() => undefined));
    const waiting = a.forward('b', retry);
    await new Promise((resolve) => setImmediate(resolve));
    hub.lose('a');
    assert.equal(await refusal(waiting), 'STORE_UNAVAILABLE');
    a.close();
    b.close();
  });
});

describe('shared event bus', () => {
  it("delivers this instance's events at once and other instances' events through the broadcast, once each", async () => {
    const hub = createHub();
    const a = createSharedEventBus(hub.instance('a'));
    const b = createSharedEventBus(hub.instance('b'));
    const heardOnA: unknown[] = [];
    const heardOnB: unknown[] = [];
    a.subscribe((event) => heardOnA.push(event));
    b.subscribe((event) => heardOnB.push(event));
    a.publish({ kind: 'tools_list_changed' });
    assert.deepEqual(heardOnA, [{ kind: 'tools_list_changed' }], 'local delivery is synchronous');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(heardOnA, [{ kind: 'tools_list_changed' }], 'its own broadcast is not delivered again');
    assert.deepEqual(heardOnB, [{ kind: 'tools_list_changed' }]);
    a.close();
    b.close();
  });

  it('takes only well-formed protocol events from other instances', async () => {
    const hub = createHub();
    const other = hub.instance('x');
    const b = createSharedEventBus(hub.instance('b'));
    const heard: unknown[] = [];
    b.subscribe((event) => heard.push(event));
    await other.broadcast({ kind: 'mcp.server-event', event: { kind: 'resource_updated' } });
    await other.broadcast({ kind: 'mcp.server-event', event: { kind: 'session_hijack' } });
    await other.broadcast({ kind: 'something-else', event: { kind: 'tools_list_changed' } });
    await other.broadcast({ kind: 'mcp.server-event', event: { kind: 'resource_updated', uri: 'file:///a', x: 1 } });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(heard, [{ kind: 'resource_updated', uri: 'file:///a' }]);
    b.close();
  });
});
