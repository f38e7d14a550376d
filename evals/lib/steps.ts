/**
 * Running one scenario's steps against an environment and checking each step's expectations, including
 * what the fixture backends actually recorded during the step (not only what the gateway answered).
 */
import { createHash } from 'node:crypto';
import {
  SignJWT,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import type { EvalEnvironment } from './environment.js';
import type { Received } from './backends.js';
import { RawMcpSession, send, type HttpAnswer, type RpcMessage } from './mcp-client.js';
import type { BackendExpect, Scenario, Step } from './schema.js';
import { scenarioRandom, type RandomLiteral } from './random.js';
import { fill, type TemplateVars } from './template.js';

/** A failed expectation; the message says what was expected and what happened. */
export class ExpectationError extends Error {
  override readonly name = 'ExpectationError';
  readonly code = 'EVAL_EXPECTATION_FAILED';
}

interface ScenarioState {
  random: RandomLiteral;
  sessions: Map<string, RawMcpSession>;
  tokens: Map<string, string>;
  approvals: Map<string, string>;
}

type Marks = Map<string, { received: number; raw: number }>;

function mark(env: EvalEnvironment): Marks {
  return new Map(
    [...env.backends].map(([name, b]) => [name, { received: b.received().length, raw: b.rawHeaders().length }]),
  );
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new ExpectationError(message);
}

function headerText(headers: Record<string, string | string[] | undefined>): string {
  return Object.entries(headers)
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : (v ?? '')}`)
    .join('\n');
}

/** Check what each named backend received since `before`. */
function checkBackends(env: EvalEnvironment, before: Marks, expected: Record<string, BackendExpect> | undefined): void {
  if (expected === undefined) return;
  for (const [name, want] of Object.entries(expected)) {
    const backend = env.backends.get(name);
    if (backend === undefined) throw new ExpectationError(`no backend named ${name}`);
    const start = before.get(name) ?? { received: 0, raw: 0 };
    const got: readonly Received[] = backend.received().slice(start.received);
    const raw = backend.rawHeaders().slice(start.raw);
    const spec = typeof want === 'number' ? { count: want } : want;
    const describe = (): string => got.map((r) => `${r.method} ${r.url}`).join(', ') || 'nothing';
    if (spec.count !== undefined)
      check(
        got.length === spec.count,
        `backend ${name}: expected ${spec.count} request(s), received ${got.length} (${describe()})`,
      );
    if (spec.atLeast !== undefined)
      check(
        got.length >= spec.atLeast,
        `backend ${name}: expected at least ${spec.atLeast} request(s), received ${got.length}`,
      );
    const last = got.at(-1);
    const needLast =
      spec.method !== undefined ||
      spec.url !== undefined ||
      spec.urlIncludes !== undefined ||
      spec.body !== undefined ||
      spec.tool !== undefined ||
      spec.headers !== undefined;
    if (needLast && spec.background === undefined)
      check(last !== undefined, `backend ${name}: expected a request, received nothing`);
    if (last !== undefined) {
      if (spec.method !== undefined)
        check(last.method === spec.method, `backend ${name}: method ${last.method}, expected ${spec.method}`);
      if (spec.url !== undefined)
        check(last.url === spec.url, `backend ${name}: received ${last.url}, expected ${spec.url}`);
      if (spec.urlIncludes !== undefined)
        check(
          last.url.includes(spec.urlIncludes),
          `backend ${name}: received ${last.url}, expected it to include ${spec.urlIncludes}`,
        );
      if (spec.tool !== undefined)
        check(last.tool === spec.tool, `backend ${name}: tool ${last.tool ?? '(none)'}, expected ${spec.tool}`);
      if (spec.body !== undefined) {
        let body: unknown;
        try {
          body = JSON.parse(last.body) as unknown;
        } catch {
          body = last.body;
        }
        check(
          JSON.stringify(body) === JSON.stringify(spec.body),
          `backend ${name}: body ${last.body}, expected ${JSON.stringify(spec.body)}`,
        );
      }
      for (const [header, value] of Object.entries(spec.headers ?? {})) {
        check(
          last.headers[header] === value,
          `backend ${name}: header ${header} was ${String(last.headers[header])}, expected ${value}`,
        );
      }
    }
    for (const r of got) {
      if (spec.background !== undefined) {
        check(
          r.method === spec.method && r.url === spec.url,
          `backend ${name}: received ${r.method} ${r.url}, only ${spec.method} ${spec.url} may arrive`,
        );
      }
      for (const url of spec.urlExcludes ?? [])
        check(!r.url.includes(url), `backend ${name}: received ${r.url}, which includes ${url}`);
      for (const header of spec.headersAbsent ?? []) {
        check(
          r.headers[header.toLowerCase()] === undefined,
          `backend ${name}: header ${header} reached the backend (${r.method} ${r.url})`,
        );
      }
    }
    if (spec.neverSaw !== undefined) {
      const seen = [
        ...got.map((r) => `${r.method} ${r.url}\n${headerText(r.headers)}\n${r.body}`),
        ...raw.map(headerText),
      ].join('\n');
      for (const secret of spec.neverSaw)
        check(secret !== '' && !seen.includes(secret), `backend ${name}: received a value it must never see`);
    }
  }
}

function resultText(message: RpcMessage | undefined): string {
  if (message?.error !== undefined) return message.error.message;
  const content = message?.result?.['content'];
  if (!Array.isArray(content)) return '';
  return content
    .map((c: unknown) =>
      c !== null && typeof c === 'object' && typeof (c as { text?: unknown }).text === 'string'
        ? (c as { text: string }).text
        : '',
    )
    .join('\n');
}

function resultCode(message: RpcMessage | undefined): string | undefined {
  const meta = message?.result?.['_meta'];
  const code =
    meta !== null && typeof meta === 'object' ? (meta as Record<string, unknown>)['portcullis/code'] : undefined;
  if (typeof code === 'string') return code;
  const data = message?.error?.data;
  const dataCode = data !== null && typeof data === 'object' ? (data as Record<string, unknown>)['code'] : undefined;
  return typeof dataCode === 'string' ? dataCode : undefined;
}

function summary(answer: HttpAnswer): string {
  const m = answer.message;
  if (m?.error !== undefined) return `HTTP ${answer.status}, JSON-RPC error ${m.error.code} ${m.error.message}`;
  if (m?.result !== undefined)
    return `HTTP ${answer.status}, ${m.result['isError'] === true ? `isError ${resultCode(m) ?? ''}` : 'result'}: ${resultText(m).slice(0, 160)}`;
  return `HTTP ${answer.status}: ${answer.text.slice(0, 160)}`;
}

export interface StepContext {
  env: EvalEnvironment;
  state: ScenarioState;
  observe?: StepObserver;
}

/** What one request step produced: the answer's outcome and what each backend received during it. */
export interface StepObservation {
  step: number;
  status: number;
  ok: boolean;
  code?: string;
  rpcError?: number;
  backends: Record<string, Received[]>;
}
export type StepObserver = (observation: StepObservation) => void;

function observe(ctx: StepContext, index: number, answer: HttpAnswer, before: Marks): void {
  if (ctx.observe === undefined) return;
  const m = answer.message;
  const code = resultCode(m);
  const backends: Record<string, Received[]> = {};
  for (const [name, backend] of ctx.env.backends)
    backends[name] = backend.received().slice(before.get(name)?.received ?? 0);
  ctx.observe({
    step: index,
    status: answer.status,
    ok: answer.status === 200 && m?.result !== undefined && m.result['isError'] !== true,
    ...(code !== undefined ? { code } : {}),
    ...(m?.error !== undefined ? { rpcError: m.error.code } : {}),
    backends,
  });
}

function callerKey(step: { agent?: string | undefined; token?: string | undefined; session?: string | undefined }): {
  bearer: (ctx: StepContext) => string;
  key: string;
} {
  if (step.agent !== undefined) {
    const agent = step.agent;
    return {
      key: `agent:${agent}#${step.session ?? ''}`,
      bearer: (ctx) => {
        const key = ctx.env.agentKeys.get(agent);
        if (key === undefined) throw new ExpectationError(`no agent ${agent} in this profile`);
        return key;
      },
    };
  }
  if (step.token !== undefined) {
    const name = step.token;
    return {
      key: `token:${name}#${step.session ?? ''}`,
      bearer: (ctx) => {
        const token = ctx.state.tokens.get(name);
        if (token === undefined) throw new ExpectationError(`no saved token ${name}`);
        return token;
      },
    };
  }
  throw new ExpectationError('a step needs `agent` or `token`');
}

/** The caller's session, opened on first use; an initialize the gateway refuses is returned as `refused`. */
async function sessionFor(
  ctx: StepContext,
  step: { agent?: string | undefined; token?: string | undefined; session?: string | undefined },
): Promise<{ session: RawMcpSession } | { refused: HttpAnswer }> {
  const caller = callerKey(step);
  const existing = ctx.state.sessions.get(caller.key);
  if (existing !== undefined) return { session: existing };
  const session = new RawMcpSession(ctx.env.gateway.mcpUrl, caller.bearer(ctx));
  const answer = await session.open();
  if (session.sessionId === undefined) return { refused: answer };
  ctx.state.sessions.set(caller.key, session);
  return { session };
}

function checkCall(answer: HttpAnswer, expect: Extract<Step, { do: 'call' }>['expect']): void {
  const m = answer.message;
  const isOk = answer.status === 200 && m?.result !== undefined && m.result['isError'] !== true;
  const what = summary(answer);
  if (expect.status !== undefined)
    check(answer.status === expect.status, `expected HTTP ${expect.status}, got ${what}`);
  if (expect.ok !== undefined)
    check(isOk === expect.ok, `expected ${expect.ok ? 'a successful result' : 'a refusal'}, got ${what}`);
  if (expect.code !== undefined) check(resultCode(m) === expect.code, `expected code ${expect.code}, got ${what}`);
  if (expect.rpcError !== undefined)
    check(m?.error?.code === expect.rpcError, `expected JSON-RPC error ${expect.rpcError}, got ${what}`);
  const text = resultText(m);
  for (const t of expect.textIncludes ?? [])
    check(text.includes(t), `expected the result to include ${JSON.stringify(t)}, got ${what}`);
  for (const t of expect.textExcludes ?? [])
    check(!text.includes(t), `expected the result not to include ${JSON.stringify(t)}, got ${what}`);
  if (expect.maxTextBytes !== undefined)
    check(
      Buffer.byteLength(answer.text) <= expect.maxTextBytes,
      `expected at most ${expect.maxTextBytes} bytes, got ${Buffer.byteLength(answer.text)}`,
    );
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function forgeToken(ctx: StepContext, step: Extract<Step, { do: 'forge-token' }>): Promise<string> {
  const original = step.from !== undefined ? ctx.state.tokens.get(step.from) : undefined;
  if (step.from !== undefined && original === undefined) throw new ExpectationError(`no saved token ${step.from}`);
  const claims: Record<string, unknown> =
    original !== undefined ? { ...(decodeJwt(original) as Record<string, unknown>) } : {};
  const header: Record<string, unknown> =
    original !== undefined ? { ...decodeProtectedHeader(original) } : { typ: 'portcullis-task+jwt' };
  const now = Math.floor(Date.now() / 1000);
  for (const [k, v] of Object.entries(step.claims)) {
    if (v === null) delete claims[k];
    else claims[k] = v;
  }
  for (const [k, seconds] of Object.entries(step.relative)) claims[k] = now + seconds;
  for (const [k, v] of Object.entries(step.header)) {
    if (v === null) delete header[k];
    else header[k] = v;
  }
  if (step.sign === 'none') return `${b64url({ ...header, alg: 'none' })}.${b64url(claims)}.`;
  if (step.sign === 'tamper') {
    if (original === undefined) throw new ExpectationError('`tamper` needs `from`');
    const signature = original.split('.')[2] ?? '';
    return `${b64url(header)}.${b64url(claims)}.${signature}`;
  }
  const alg = typeof header['alg'] === 'string' ? header['alg'] : 'ES256';
  let key: CryptoKey | Uint8Array;
  if (step.sign === 'gateway') {
    const jwk = (await ctx.env.signingJwks())[0];
    if (jwk === undefined) throw new ExpectationError('the gateway has no signing key');
    key = await importJWK(jwk as JWK, alg);
  } else {
    key = (await generateKeyPair(alg, { extractable: false })).privateKey;
  }
  return new SignJWT(claims as JWTPayload).setProtectedHeader({ ...header, alg } as { alg: string }).sign(key);
}

function vars(ctx: StepContext): TemplateVars {
  const out: TemplateVars = { ...ctx.env.vars };
  for (const [id, key] of ctx.env.agentKeys) out[`agents.${id}.key`] = key;
  for (const [name, token] of ctx.state.tokens) out[`tokens.${name}`] = token;
  for (const [name, id] of ctx.state.approvals) out[`approvals.${name}`] = id;
  return out;
}

function resolveAuth(ctx: StepContext, auth: string): string {
  if (auth.startsWith('agent:')) {
    const key = ctx.env.agentKeys.get(auth.slice(6));
    if (key === undefined) throw new ExpectationError(`no agent ${auth.slice(6)}`);
    return `Bearer ${key}`;
  }
  if (auth.startsWith('token:')) {
    const token = ctx.state.tokens.get(auth.slice(6));
    if (token === undefined) throw new ExpectationError(`no saved token ${auth.slice(6)}`);
    return `Bearer ${token}`;
  }
  if (auth.startsWith('raw:')) return auth.slice(4);
  throw new ExpectationError(`auth must be agent:ID, token:NAME or raw:VALUE, got ${auth}`);
}

async function runStep(ctx: StepContext, rawStep: Step, index: number): Promise<void> {
  const step = fill(rawStep, vars(ctx), ctx.state.random);
  const { env, state } = ctx;
  const before = mark(env);
  switch (step.do) {
    case 'list': {
      const opened = await sessionFor(ctx, step);
      if ('refused' in opened) throw new ExpectationError(`could not open a session: ${summary(opened.refused)}`);
      const answer = await opened.session.request('tools/list', {});
      const tools = answer.message?.result?.['tools'];
      check(Array.isArray(tools), `tools/list failed: ${summary(answer)}`);
      const names = (tools as { name: string }[]).map((t) => t.name);
      for (const n of step.expect.includes)
        check(names.includes(n), `tools/list lacks ${n} (has ${names.join(', ') || 'nothing'})`);
      for (const n of step.expect.excludes) check(!names.includes(n), `tools/list shows ${n}`);
      return;
    }
    case 'call': {
      const opened = await sessionFor(ctx, step);
      const answer =
        'refused' in opened
          ? opened.refused
          : await opened.session.request('tools/call', {
              name: step.tool,
              arguments: step.args,
              ...(step.meta !== undefined ? { _meta: step.meta } : {}),
            });
      if (step.saveApproval !== undefined) {
        const meta = answer.message?.result?.['_meta'] as Record<string, unknown> | undefined;
        const id = meta?.['portcullis/approvalId'];
        check(typeof id === 'string', `expected an approval request id, got ${summary(answer)}`);
        state.approvals.set(step.saveApproval, id as string);
      }
      observe(ctx, index, answer, before);
      checkCall(answer, step.expect);
      checkBackends(env, before, step.expect.backends);
      return;
    }
    case 'http': {
      const headers: [string, string][] = [
        ['content-type', 'application/json'],
        ['accept', 'application/json, text/event-stream'],
      ];
      let awaitId: string | number | undefined;
      if (step.sessionOf !== undefined) {
        const [kind, name] = step.sessionOf.split(':');
        const opened = await sessionFor(ctx, kind === 'agent' ? { agent: name } : { token: name });
        if ('refused' in opened)
          throw new ExpectationError(`could not open a session for ${step.sessionOf}: ${summary(opened.refused)}`);
        headers.push(['mcp-session-id', opened.session.sessionId ?? ''], ['mcp-protocol-version', '2025-06-18']);
      }
      if (step.auth !== undefined) headers.push(['authorization', resolveAuth(ctx, step.auth)]);
      const extra =
        step.headers === undefined ? [] : Array.isArray(step.headers) ? step.headers : Object.entries(step.headers);
      for (const [name, value] of extra) {
        const index = headers.findIndex(([n]) => n.toLowerCase() === name.toLowerCase());
        // A header given once replaces the default; pairs listed twice are sent twice.
        if (index >= 0 && !Array.isArray(step.headers)) headers.splice(index, 1);
        headers.push([name, value]);
      }
      let body: string | undefined;
      if (step.rawBody !== undefined) body = step.rawBody;
      else if (step.body !== undefined) {
        body = JSON.stringify(step.body);
        const id = (step.body as { id?: unknown }).id;
        if (typeof id === 'string' || typeof id === 'number') awaitId = id;
      }
      const answer = await send({
        url: `${env.gateway.baseUrl}${step.path}`,
        method: step.method,
        headers,
        ...(body !== undefined ? { body } : {}),
        ...(awaitId !== undefined ? { awaitId } : {}),
      });
      observe(ctx, index, answer, before);
      const e = step.expect;
      const what = summary(answer);
      if (e.status !== undefined) check(answer.status === e.status, `expected HTTP ${e.status}, got ${what}`);
      if (e.statusIn !== undefined)
        check(e.statusIn.includes(answer.status), `expected HTTP ${e.statusIn.join(' or ')}, got ${what}`);
      if (e.statusNot !== undefined)
        check(!e.statusNot.includes(answer.status), `expected HTTP other than ${e.statusNot.join(', ')}, got ${what}`);
      for (const t of e.bodyIncludes ?? [])
        check(answer.text.includes(t), `expected the body to include ${JSON.stringify(t)}, got ${what}`);
      for (const t of e.bodyExcludes ?? [])
        check(!answer.text.includes(t), `expected the body not to include ${JSON.stringify(t)}, got ${what}`);
      if (e.noResult === true) check(!answer.text.includes('"result"'), `expected no JSON-RPC result, got ${what}`);
      if (e.rpcError !== undefined)
        check(answer.message?.error?.code === e.rpcError, `expected JSON-RPC error ${e.rpcError}, got ${what}`);
      checkBackends(env, before, e.backends);
      return;
    }
    case 'open-task': {
      const key = env.agentKeys.get(step.agent);
      if (key === undefined) throw new ExpectationError(`no agent ${step.agent}`);
      const answer = await send({
        url: `${env.gateway.baseUrl}/v1/tasks`,
        method: 'POST',
        headers: [
          ['content-type', 'application/json'],
          ['authorization', `Bearer ${key}`],
        ],
        body: JSON.stringify({
          intent: step.intent,
          ...(step.declaredTools !== undefined ? { declaredTools: step.declaredTools } : {}),
          ...(step.ttlSeconds !== undefined ? { ttlSeconds: step.ttlSeconds } : {}),
        }),
      });
      check(answer.status === 201, `opening a task failed: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
      const token = (JSON.parse(answer.text) as { token?: unknown }).token;
      check(typeof token === 'string', 'the task answer carries no token');
      state.tokens.set(step.save, token as string);
      return;
    }
    case 'forge-token':
      state.tokens.set(step.save, await forgeToken(ctx, step));
      return;
    case 'end-task': {
      const token = state.tokens.get(step.token);
      if (token === undefined) throw new ExpectationError(`no saved token ${step.token}`);
      const tid = decodeJwt(token)['tid'];
      const answer = await send({
        url: `${env.gateway.baseUrl}/v1/tasks/${String(tid)}`,
        method: 'DELETE',
        headers: [['authorization', `Bearer ${token}`]],
      });
      check(answer.status === 200, `ending the task failed: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
      return;
    }
    case 'decide': {
      const token = env.operatorTokens.get(step.operator);
      const id = state.approvals.get(step.approval);
      if (token === undefined) throw new ExpectationError(`no operator ${step.operator}`);
      if (id === undefined) throw new ExpectationError(`no saved approval ${step.approval}`);
      const answer = await send({
        url: `${env.gateway.baseUrl}/v1/approvals/${encodeURIComponent(id)}/${step.approve ? 'approve' : 'deny'}`,
        method: 'POST',
        headers: [
          ['content-type', 'application/json'],
          ['authorization', `Bearer ${token}`],
        ],
        body: JSON.stringify({
          ...(step.reason !== undefined ? { reason: step.reason } : {}),
          ...(step.ttlSeconds !== undefined ? { ttlSeconds: step.ttlSeconds } : {}),
          ...(step.scope !== undefined ? { scope: step.scope } : {}),
        }),
      });
      check(
        answer.status === step.expect.status,
        `operator decision: expected HTTP ${step.expect.status}, got ${answer.status} ${answer.text.slice(0, 200)}`,
      );
      if (step.expect.code !== undefined)
        check(
          answer.text.includes(`"${step.expect.code}"`),
          `operator decision: expected code ${step.expect.code}, got ${answer.text.slice(0, 200)}`,
        );
      return;
    }
    case 'sleep':
      await new Promise((resolve) => setTimeout(resolve, step.ms));
      return;
    case 'set-upstream-tools': {
      const backend = env.backends.get(step.backend);
      if (backend?.setTools === undefined) throw new ExpectationError(`${step.backend} is not a scripted MCP upstream`);
      backend.setTools(step.tools);
      if (step.refresh) await env.gateway.catalog.refresh();
      return;
    }
  }
}

export interface ScenarioOutcome {
  passed: boolean;
  /** Index and message of the first failed step. */
  failure?: { step: number; message: string };
}

export async function runScenario(
  env: EvalEnvironment,
  scenario: Scenario,
  options: { observe?: StepObserver; seed?: number } = {},
): Promise<ScenarioOutcome> {
  const state: ScenarioState = {
    random: scenarioRandom(options.seed ?? 0, scenario.id),
    sessions: new Map(),
    tokens: new Map(),
    approvals: new Map(),
  };
  const ctx: StepContext = { env, state, ...(options.observe !== undefined ? { observe: options.observe } : {}) };
  try {
    for (const [index, step] of scenario.steps.entries()) {
      try {
        await runStep(ctx, step, index);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return { passed: false, failure: { step: index, message: redactKeys(env, message) } };
      }
    }
    return { passed: true };
  } finally {
    await Promise.all([...state.sessions.values()].map((s) => s.close().catch(() => undefined)));
  }
}

/** Failure messages go into the committed scorecard: never let a generated key or token reach it. */
function redactKeys(env: EvalEnvironment, message: string): string {
  let out = message;
  for (const secret of [...env.agentKeys.values(), ...env.operatorTokens.values()])
    out = out.split(secret).join('[redacted]');
  return out.replace(
    /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g,
    (t) => `[token ${createHash('sha256').update(t).digest('hex').slice(0, 8)}]`,
  );
}
