/**
 * The change events of 2026-07-28 `subscriptions/listen` streams, shared by every instance on one store:
 * a `ServerEventBus` whose events (tool, resource and prompt list changes, resource updates) reach this
 * instance's streams at once and every other instance's streams through the store's broadcast. Which
 * stream hears which event is still the SDK listen router's part (each stream's filter), and a stream
 * names only resources its principal can see (checked when it opens, see modern-edge.ts).
 *
 * Delivery is at most once: while this instance cannot hear the broadcast, other instances' events are
 * lost. So that a stream never goes deaf without saying so, `onLost` tells the edge, which ends the open
 * streams with STORE_UNAVAILABLE, and `available()` is false until the broadcast is heard again (new
 * streams are refused meanwhile). A change several instances see (an upstream's list change reaches
 * each instance's own connection) is notified once per instance that saw it.
 */
import { InMemoryServerEventBus, type ServerEvent, type ServerEventBus } from '@modelcontextprotocol/server';
import type { InstanceMessages } from '../../services/instances/index.js';

const MESSAGE_KIND = 'mcp.server-event';

export interface SharedEventBus extends ServerEventBus {
  /** Whether events of other instances arrive now. */
  available(): boolean;
  /** Events of other instances stopped arriving (some may be lost). */
  onLost(listener: (reason: string) => void): () => void;
  close(): void;
}

export function createSharedEventBus(
  messages: InstanceMessages,
  onError: (error: Error) => void = () => undefined,
): SharedEventBus {
  const local = new InMemoryServerEventBus(onError);
  const stopHearing = messages.onBroadcast((message, from) => {
    if (from === messages.instanceId || message['kind'] !== MESSAGE_KIND) return;
    const event = asServerEvent(message['event']);
    if (event !== undefined) local.publish(event);
  });
  return {
    publish(event) {
      local.publish(event);
      messages.broadcast({ kind: MESSAGE_KIND, event: { ...event } }).catch((error: unknown) => {
        onError(
          new Error(
            `a ${event.kind} event did not reach the other instances: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
      });
    },
    subscribe: (listener) => local.subscribe(listener),
    available: () => messages.available(),
    onLost: (listener) => messages.onLost(listener),
    close: stopHearing,
  };
}

/** Only the four event kinds of the protocol, with their exact fields, are taken from another instance. */
function asServerEvent(value: unknown): ServerEvent | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { kind, uri } = value as { kind?: unknown; uri?: unknown };
  switch (kind) {
    case 'tools_list_changed':
    case 'prompts_list_changed':
    case 'resources_list_changed':
      return { kind };
    case 'resource_updated':
      return typeof uri === 'string' ? { kind, uri } : undefined;
    default:
      return undefined;
  }
}
