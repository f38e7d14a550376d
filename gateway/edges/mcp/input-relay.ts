/**
 * Resume anywhere: the retry of an `input_required` round may reach an instance that does not hold the
 * live call (there is no stickiness behind a load balancer). After the receiving instance has checked the
 * sealed state (integrity, principal, call, expiry) and taken its single-use claim, it relays the retry to
 * the instance named in the state's held-call id, over the store's direct messages, and answers the agent
 * with whatever the holder answers: the call's result, its error, or the next `input_required` round.
 *
 * Exchange: `input.retry` (requester to holder), then `input.working` from the holder at once and every
 * `heartbeatMs` while the call runs, then one `input.answer`. Outcomes on the requesting side:
 * - the holder's channel has no listener (the instance stopped): STATE_NOT_HELD, since the call is gone;
 * - no word from the holder for `silenceMs`: STATE_NOT_HELD when the holder no longer listens, else
 *   STORE_UNAVAILABLE (it is there but cannot be heard);
 * - this instance stopped hearing messages while waiting (some may be lost): STORE_UNAVAILABLE.
 * The state was claimed before relaying, so after any of these the agent calls again without it.
 */
import { randomUUID } from 'node:crypto';
import { isJsonObject, type JsonObject } from '../../../connectors/contract.js';
import { GatewayError, isErrorCode, toGatewayError } from '../../kernel/index.js';
import type { InstanceMessage, InstanceMessages } from '../../services/instances/index.js';

/** A checked retry, as the holder needs it to go on with the call. */
export interface RelayedRetry {
  /** The held call's id (names the holding instance, see `holderOf`). */
  held: string;
  /** The keys of the requests this round asked (from the sealed state). */
  keys: string[];
  /** The agent's `inputResponses`. */
  responses: Record<string, unknown>;
  /** Digests of the principal and of the call the state is bound to (for the next round's state). */
  principal: string;
  call: string;
}

export interface InputRelay {
  readonly instanceId: string;
  /** Sends a retry to the instance holding its call and resolves with that instance's answer. */
  forward(holder: string, retry: RelayedRetry): Promise<JsonObject>;
  /** Serves retries relayed to this instance; returns the function that stops serving. */
  serve(resume: (retry: RelayedRetry) => Promise<JsonObject>): () => void;
  close(): void;
}

export interface InputRelayOptions {
  messages: InstanceMessages;
  /** How often a holder says it is still working on a relayed retry. */
  heartbeatMs?: number;
  /** How long a requester waits without word from the holder. */
  silenceMs?: number;
  onError?: (error: Error) => void;
}

/** Held-call ids name their instance: `<instance id>/<random id>`. */
export function heldCallId(instanceId: string): string {
  return `${instanceId}/${randomUUID()}`;
}

export function holderOf(heldId: string): string | undefined {
  const slash = heldId.indexOf('/');
  return slash > 0 ? heldId.slice(0, slash) : undefined;
}

interface Waiting {
  holder: string;
  resolve(result: JsonObject): void;
  reject(error: GatewayError): void;
  timer?: NodeJS.Timeout;
}

export function createInputRelay(options: InputRelayOptions): InputRelay {
  const { messages } = options;
  const heartbeatMs = options.heartbeatMs ?? 2_000;
  const silenceMs = options.silenceMs ?? 10_000;
  const waiting = new Map<string, Waiting>();
  /** Heartbeats of retries this instance is serving (stopped when it closes). */
  const heartbeats = new Set<NodeJS.Timeout>();
  let resume: ((retry: RelayedRetry) => Promise<JsonObject>) | undefined;

  const stopLost = messages.onLost(() => {
    for (const [id, wait] of waiting) {
      settle(id, wait, () =>
        wait.reject(
          new GatewayError(
            'STORE_UNAVAILABLE',
            'lost contact with the instance holding the call through the shared store; call again without requestState',
          ),
        ),
      );
    }
  });

  const stopDirect = messages.onDirect((message, from) => {
    const id = typeof message['id'] === 'string' ? message['id'] : undefined;
    if (id === undefined) return;
    switch (message['kind']) {
      case 'input.retry':
        void answerRetry(id, from, message);
        return;
      case 'input.working': {
        const wait = waiting.get(id);
        if (wait !== undefined && wait.holder === from) armSilence(id, wait);
        return;
      }
      case 'input.answer': {
        const wait = waiting.get(id);
        if (wait === undefined || wait.holder !== from) return;
        settle(id, wait, () => {
          if (isJsonObject(message['result'])) wait.resolve(message['result'] as JsonObject);
          else wait.reject(errorFrom(message['error']));
        });
        return;
      }
    }
  });

  function settle(id: string, wait: Waiting, outcome: () => void): void {
    if (waiting.get(id) !== wait) return;
    waiting.delete(id);
    clearTimeout(wait.timer);
    outcome();
  }

  function armSilence(id: string, wait: Waiting): void {
    clearTimeout(wait.timer);
    wait.timer = setTimeout(() => void silent(id, wait), silenceMs);
  }

  async function silent(id: string, wait: Waiting): Promise<void> {
    let listening: boolean | undefined;
    try {
      listening = await messages.listening(wait.holder);
    } catch {
      listening = undefined;
    }
    settle(id, wait, () =>
      wait.reject(
        listening === false
          ? notHeld()
          : new GatewayError(
              'STORE_UNAVAILABLE',
              'the instance holding the call could not be heard in time; call again without requestState',
            ),
      ),
    );
  }

  async function answerRetry(id: string, from: string, message: InstanceMessage): Promise<void> {
    const retry = asRetry(message);
    const reply = (body: InstanceMessage) =>
      messages.send(from, { ...body, id }).catch((error: unknown) => {
        options.onError?.(new Error(`a relayed retry's ${String(body['kind'])} was not delivered: ${String(error)}`));
        return false;
      });
    if (retry === undefined || resume === undefined) {
      await reply({ kind: 'input.answer', error: { code: 'STATE_NOT_HELD', message: notHeld().message } });
      return;
    }
    await reply({ kind: 'input.working' });
    const heartbeat = setInterval(() => void reply({ kind: 'input.working' }), heartbeatMs);
    heartbeats.add(heartbeat);
    try {
      const result = await resume(retry);
      await reply({ kind: 'input.answer', result });
    } catch (error) {
      const gatewayError = toGatewayError(error);
      await reply({
        kind: 'input.answer',
        error: {
          code: gatewayError.code,
          message: gatewayError.message,
          ...(gatewayError.details !== undefined ? { details: gatewayError.details } : {}),
        },
      });
    } finally {
      clearInterval(heartbeat);
      heartbeats.delete(heartbeat);
    }
  }

  return {
    instanceId: messages.instanceId,
    forward(holder, retry) {
      const id = randomUUID();
      return new Promise<JsonObject>((resolve, reject) => {
        const wait: Waiting = { holder, resolve, reject };
        waiting.set(id, wait);
        armSilence(id, wait);
        messages.send(holder, { kind: 'input.retry', id, ...retry }).then(
          (delivered) => {
            if (!delivered) settle(id, wait, () => wait.reject(notHeld()));
          },
          (error: unknown) => settle(id, wait, () => wait.reject(toGatewayError(error))),
        );
      });
    },
    serve(handler) {
      resume = handler;
      return () => {
        if (resume === handler) resume = undefined;
      };
    },
    close() {
      stopLost();
      stopDirect();
      resume = undefined;
      for (const heartbeat of heartbeats) clearInterval(heartbeat);
      heartbeats.clear();
      for (const [id, wait] of waiting) {
        settle(id, wait, () => wait.reject(new GatewayError('SHUTTING_DOWN', 'gateway stopping')));
      }
    },
  };
}

function notHeld(): GatewayError {
  return new GatewayError(
    'STATE_NOT_HELD',
    'the gateway instance holding the call this request state continues has stopped (or the call ended); call again without requestState',
  );
}

function asRetry(message: InstanceMessage): RelayedRetry | undefined {
  const { held, keys, responses, principal, call } = message;
  if (typeof held !== 'string' || typeof principal !== 'string' || typeof call !== 'string') return undefined;
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string') || !isJsonObject(responses))
    return undefined;
  return { held, keys: keys as string[], responses, principal, call };
}

/** The holder's error, as the same GatewayError the agent would have had from the holder itself. */
function errorFrom(value: unknown): GatewayError {
  if (!isJsonObject(value) || !isErrorCode(value['code']) || typeof value['message'] !== 'string') {
    return new GatewayError('INTERNAL', 'internal gateway error');
  }
  return new GatewayError(
    value['code'],
    value['message'],
    isJsonObject(value['details']) ? (value['details'] as Record<string, unknown>) : undefined,
  );
}
