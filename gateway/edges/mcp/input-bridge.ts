/**
 * Multi-round-trip requests for 2026-07-28 agents. A backend may need an answer only the agent can give
 * (sampling, elicitation, roots) while a call runs. There is no request stream back to a 2026-07-28 agent,
 * so the call is held on this instance and the agent gets the call's `input_required` result: the
 * backend's requests as `inputRequests` (keys named by the gateway, `input-1`, `input-2`, ...) and a
 * `requestState` sealed by the gateway (see `sealed-state.ts`). The agent retries the same request with
 * its `inputResponses` and the state; the answers go to the waiting backend and the call goes on, until it
 * completes or needs more input (another round).
 *
 * The state is refused unless it is intact (STATE_INVALID), issued to this principal for this very call
 * (STATE_MISMATCH), unexpired (STATE_EXPIRED) and unused (STATE_REUSED: single use through the shared
 * claims store, so a replay is refused on every instance). The backend's call is live on one process and
 * cannot move: a sound state whose call another instance holds is relayed to that instance after these
 * checks (input-relay.ts, when instances share a store), and the agent gets the holder's answer. A state
 * whose call is held nowhere (it ended, was dropped after the hold time, or its instance stopped) is
 * refused with STATE_NOT_HELD, and the agent calls again without the state.
 * A retry that lacks an answer is asked again for the missing keys (a new `input_required` round).
 *
 * A 2026-07-28 upstream makes its rounds itself (`input_required` with its own keys and `requestState`).
 * Such a round is passed to the agent as it is: the upstream's `inputRequests` keys, and a sealed state
 * that carries the upstream's `requestState` (integrity-protected by the seal, bound to the principal, the
 * call and the expiry, single-use like every request state). Nothing is held: the retry is a new call
 * through the whole pipeline (policy, credentials, audit, tracing) on whichever instance receives it, and
 * it sends the agent's answers to the keys the upstream asked, with the upstream's own state, back to the
 * upstream. The upstream's state is signed, not encrypted: the agent sees it as it would talking to the
 * upstream directly. A first call that brings `inputResponses` without a state passes them on as they are.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';
import type { ServerContext } from '@modelcontextprotocol/server';
import {
  isJsonObject,
  type BackendInputRound,
  type InputRequestChannel,
  type JsonObject,
} from '../../../connectors/contract.js';
import { GatewayError, type Principal } from '../../kernel/index.js';
import { callDigest, MAX_SEALED_LENGTH, principalDigest, type StateSealer } from './sealed-state.js';
import { heldCallId, holderOf, type InputRelay, type RelayedRetry } from './input-relay.js';

const CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
/** The capability an agent declares for each kind of request it can answer. */
const CAPABILITY_OF: Record<string, string> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};

export interface OnceClaimsLike {
  claim(id: string, ttlMs: number): Promise<boolean>;
}

export interface InputBridgeOptions {
  sealer: StateSealer;
  claims: OnceClaimsLike;
  /** How long a held call waits for the agent's retry (and how long its state is valid). */
  holdSeconds: number;
  /** Retries of calls other instances hold are relayed to them, and theirs served here (shared stores). */
  relay?: InputRelay;
  now?: () => number;
}

export interface InputBridge {
  run(
    ctx: ServerContext,
    principal: Principal,
    call: { method: string; name: string; args: JsonObject },
    run: (channel: InputRequestChannel, signal: AbortSignal) => Promise<JsonObject>,
  ): Promise<JsonObject>;
  /** Calls held for a retry (for tests and shutdown). */
  held(): number;
  close(): void;
}

interface Pending {
  method: string;
  params: JsonObject;
  resolve(value: JsonObject): void;
  reject(error: Error): void;
}

interface HeldCall {
  /** Its id among the calls held for a retry, given when it is first held (most calls never are). */
  id?: string;
  controller: AbortController;
  /** Requests raised by the backend and not yet put to the agent. */
  fresh: Map<string, Pending>;
  /** Requests put to the agent, awaiting its answers. */
  asked: Map<string, Pending>;
  next: number;
  done: Promise<{ result: JsonObject } | { error: unknown }>;
  wake?: (() => void) | undefined;
  timer?: NodeJS.Timeout;
  /** The round a 2026-07-28 upstream made itself, handed to the agent as it is. */
  handedOff?: BackendInputRound;
}

/** What a call sends its upstream first: the agent's answers to the upstream's last round and its state. */
type Resume = { inputResponses: JsonObject; requestState?: string };

/**
 * What a request state binds to: digests of the principal and of the call. Most calls never need input, so
 * a fresh call computes them only when a state is sealed.
 */
interface Binding {
  principal(): string;
  call(): string;
}

function once(compute: () => string): () => string {
  let value: string | undefined;
  return () => (value ??= compute());
}

export function createInputBridge(options: InputBridgeOptions): InputBridge {
  const now = options.now ?? Date.now;
  const holding = new Map<string, HeldCall>();
  const stopServing = options.relay?.serve((retry) => resume(retry));

  /** Holds the call for the agent's retry, under an id given the first time. */
  function hold(held: HeldCall): string {
    held.id ??= options.relay !== undefined ? heldCallId(options.relay.instanceId) : randomUUID();
    holding.set(held.id, held);
    return held.id;
  }

  function unhold(held: HeldCall): void {
    if (held.id !== undefined) holding.delete(held.id);
  }

  function release(held: HeldCall, reason: GatewayError): void {
    unhold(held);
    if (held.timer !== undefined) clearTimeout(held.timer);
    for (const pending of [...held.fresh.values(), ...held.asked.values()]) pending.reject(reason);
    held.fresh.clear();
    held.asked.clear();
    held.controller.abort(reason);
  }

  function channelFor(
    held: HeldCall,
    capabilities: Record<string, unknown>,
    resume: Resume | undefined,
  ): InputRequestChannel {
    const declared: JsonObject = {};
    for (const capability of Object.values(CAPABILITY_OF)) {
      const value = capabilities[capability];
      if (isJsonObject(value)) declared[capability] = value;
    }
    return {
      rounds: {
        ...(resume !== undefined ? { resume } : {}),
        capabilities: declared,
        handOff(round) {
          for (const request of Object.values(round.inputRequests)) {
            const capability = CAPABILITY_OF[request.method];
            if (capability === undefined || declared[capability] === undefined)
              throw new GatewayError('NOT_SUPPORTED', `the agent's client does not support ${request.method}`);
          }
          held.handedOff = round;
        },
      },
      request(method, params, signal) {
        const capability = CAPABILITY_OF[method];
        if (capability === undefined || capabilities[capability] === undefined) {
          return Promise.reject(new GatewayError('NOT_SUPPORTED', `the agent's client does not support ${method}`));
        }
        return new Promise<JsonObject>((resolve, reject) => {
          const key = `input-${++held.next}`;
          const pending: Pending = { method, params, resolve, reject };
          held.fresh.set(key, pending);
          signal.addEventListener(
            'abort',
            () => {
              held.fresh.delete(key);
              held.asked.delete(key);
              reject(new GatewayError('CANCELLED', `${method} was cancelled`));
            },
            { once: true },
          );
          held.wake?.();
        });
      },
    };
  }

  /** Waits until the call completes or has asked for input, and answers the agent accordingly. */
  async function step(held: HeldCall, binding: Binding): Promise<JsonObject> {
    const asked = new Promise<'input'>((resolve) => {
      held.wake = () => resolve('input');
      if (held.fresh.size > 0) resolve('input');
    });
    const first = await Promise.race([held.done, asked]);
    held.wake = undefined;
    if (first !== 'input') {
      // The upstream's own round ended the call (and nothing else did): the agent gets that round.
      if (held.handedOff !== undefined && endedForInput(first)) return passOn(held, held.handedOff, binding);
      return finish(held, first);
    }
    // Let requests raised together (one backend asking several things at once) share one round.
    await setImmediate();
    const inputRequests: Record<string, JsonObject> = {};
    for (const [key, pending] of held.fresh) {
      inputRequests[key] = { method: pending.method, params: pending.params };
      held.asked.set(key, pending);
    }
    held.fresh.clear();
    return inputRequired(held, binding, inputRequests);
  }

  function inputRequired(held: HeldCall, binding: Binding, inputRequests: Record<string, JsonObject>): JsonObject {
    const id = hold(held);
    if (held.timer !== undefined) clearTimeout(held.timer);
    held.timer = setTimeout(
      () => release(held, new GatewayError('CANCELLED', 'the agent did not answer the input request in time')),
      options.holdSeconds * 1000,
    );
    held.timer.unref();
    const requestState = options.sealer.seal({
      k: 'input',
      p: binding.principal(),
      c: binding.call(),
      exp: Math.floor(now() / 1000) + options.holdSeconds,
      h: id,
      keys: [...held.asked.keys()],
    });
    return { resultType: 'input_required', inputRequests, requestState };
  }

  function passOn(held: HeldCall, round: BackendInputRound, binding: Binding): JsonObject {
    unhold(held);
    if (held.timer !== undefined) clearTimeout(held.timer);
    const requestState = options.sealer.seal({
      k: 'input',
      p: binding.principal(),
      c: binding.call(),
      exp: Math.floor(now() / 1000) + options.holdSeconds,
      u: {
        ...(round.requestState !== undefined ? { s: round.requestState } : {}),
        keys: Object.keys(round.inputRequests),
      },
    });
    if (requestState.length > MAX_SEALED_LENGTH)
      throw new GatewayError('UPSTREAM_ERROR', "the upstream's request state is too large to carry");
    return { resultType: 'input_required', inputRequests: round.inputRequests as JsonObject, requestState };
  }

  function finish(held: HeldCall, outcome: { result: JsonObject } | { error: unknown }): JsonObject {
    unhold(held);
    if (held.timer !== undefined) clearTimeout(held.timer);
    if ('error' in outcome) throw outcome.error;
    return outcome.result;
  }

  /** Goes on with a call held here, with the answers of a checked retry (received here or relayed). */
  async function resume(retry: RelayedRetry): Promise<JsonObject> {
    const held = holding.get(retry.held);
    if (held === undefined) {
      throw new GatewayError(
        'STATE_NOT_HELD',
        'the call this request state continues is no longer held (it ended, or waited too long); call again without requestState',
      );
    }
    const binding: Binding = { principal: () => retry.principal, call: () => retry.call };
    const { responses } = retry;
    const missing: Record<string, JsonObject> = {};
    for (const key of retry.keys) {
      const pending = held.asked.get(key);
      if (pending === undefined) continue;
      const answer = responses[key];
      if (isJsonObject(answer)) {
        held.asked.delete(key);
        pending.resolve(answer);
      } else {
        missing[key] = { method: pending.method, params: pending.params };
      }
    }
    // An answer is missing: ask again for what is missing (and whatever the backend asked meanwhile).
    if (Object.keys(missing).length > 0) {
      for (const [key, pending] of held.fresh) {
        missing[key] = { method: pending.method, params: pending.params };
        held.asked.set(key, pending);
      }
      held.fresh.clear();
      return inputRequired(held, binding, missing);
    }
    return step(held, binding);
  }

  return {
    async run(ctx, principal, call, run) {
      const binding: Binding = {
        principal: once(() => principalDigest(principal)),
        call: once(() => callDigest(call.method, call.name, call.args)),
      };
      const state = ctx.mcpReq.requestState<unknown>();
      const responses = ctx.mcpReq.inputResponses ?? {};
      const start = async (resume: Resume | undefined): Promise<JsonObject> => {
        const held: HeldCall = {
          controller: new AbortController(),
          fresh: new Map(),
          asked: new Map(),
          next: 0,
          done: Promise.resolve({ result: {} }),
        };
        // The call outlives this exchange when it needs input: it runs under the held call's signal, which
        // follows this request's cancellation only until the first round is answered.
        const onAbort = () => release(held, new GatewayError('CANCELLED', 'the agent cancelled the call'));
        ctx.mcpReq.signal.addEventListener('abort', onAbort, { once: true });
        const capabilities = (ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[CLIENT_CAPABILITIES];
        const channel = channelFor(held, isJsonObject(capabilities) ? capabilities : {}, resume);
        held.done = run(channel, held.controller.signal).then(
          (result) => ({ result }),
          (error: unknown) => ({ error }),
        );
        try {
          return await step(held, binding);
        } finally {
          ctx.mcpReq.signal.removeEventListener('abort', onAbort);
        }
      };
      const answersTo = (keys: Iterable<string>): JsonObject => {
        const answers: JsonObject = {};
        for (const key of keys) if (isJsonObject(responses[key])) answers[key] = responses[key] as JsonObject;
        return answers;
      };
      if (state === undefined) {
        const given = answersTo(Object.keys(responses));
        return start(Object.keys(given).length > 0 ? { inputResponses: given } : undefined);
      }
      const payload = options.sealer.open(state, { kind: 'input', principal, call: binding.call() });
      const ttlMs = Math.max(1, payload.exp * 1000 - now());
      if (!(await options.claims.claim(`input:${payload.n}`, ttlMs))) {
        throw new GatewayError('STATE_REUSED', 'this request state was already used; each state is taken once');
      }
      if (payload.u !== undefined) {
        // The upstream's own round: a new call that brings the upstream the answers to its keys and its state.
        const resume: Resume = { inputResponses: answersTo(payload.u.keys) };
        if (payload.u.s !== undefined) resume.requestState = payload.u.s;
        return start(resume);
      }
      const retry: RelayedRetry = {
        held: payload.h ?? '',
        keys: payload.keys ?? [],
        responses: ctx.mcpReq.inputResponses ?? {},
        principal: payload.p,
        call: binding.call(),
      };
      const holder = holderOf(retry.held);
      if (options.relay !== undefined && holder !== undefined && holder !== options.relay.instanceId) {
        return options.relay.forward(holder, retry);
      }
      return resume(retry);
    },
    held: () => holding.size,
    close() {
      stopServing?.();
      for (const held of [...holding.values()]) release(held, new GatewayError('SHUTTING_DOWN', 'gateway stopping'));
    },
  };
}

/** The run ended because the backend needs the agent's input (a tool result or an error with that code). */
function endedForInput(outcome: { result: JsonObject } | { error: unknown }): boolean {
  if ('error' in outcome) return (outcome.error as { code?: unknown } | undefined)?.code === 'INPUT_REQUIRED';
  const meta = outcome.result['_meta'];
  return outcome.result['isError'] === true && isJsonObject(meta) && meta['portcullis/code'] === 'INPUT_REQUIRED';
}
