/**
 * Tracing helpers for the pipeline, on `@opentelemetry/api` only: until an SDK is registered (by the
 * composition root, gateway/compose.ts, through sdk.ts) every span is a no-op, and a trace context
 * received from the agent still flows through to backends.
 *
 * Spans never carry secrets: attributes go through `redactAttributes`, and a failed span records the
 * error's stable code (`error.type`), not its message or stack, which may quote backend output.
 */
import {
  context,
  ProxyTracerProvider,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { ATTR_ERROR_TYPE } from './attributes.js';
import { redactAttributes } from './redact.js';

export const TRACER_NAME = 'portcullis';

/** The provider the tracer was taken from, and the tracer. */
let current: { provider: TracerProvider; tracer: Tracer } | undefined;

/**
 * The gateway's tracer from the provider registered now. Asked for on every span: the tracer is taken once
 * per registered provider, where `trace.getTracer` goes through the proxy provider, the SDK provider and a
 * key string every time.
 */
export function getTracer(): Tracer {
  const global = trace.getTracerProvider();
  const provider = global instanceof ProxyTracerProvider ? global.getDelegate() : global;
  if (current?.provider !== provider) current = { provider, tracer: trace.getTracer(TRACER_NAME) };
  return current.tracer;
}

export interface WithSpanOptions {
  kind?: SpanKind;
  /** Parent context; defaults to the active one. */
  parent?: Context;
}

/**
 * Run `fn` inside a new active span named `name`. The span ends when `fn` settles; if it throws, the span
 * gets status ERROR and `error.type` (the error's `code`, else its class name) and the error is rethrown.
 */
export async function withSpan<T>(
  name: string,
  attributes: Readonly<Record<string, unknown>>,
  fn: (span: Span) => Promise<T> | T,
  options: WithSpanOptions = {},
): Promise<T> {
  const parent = options.parent ?? context.active();
  return getTracer().startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL }, parent, async (span) => {
    // Attributes are redacted and set only on spans that are recorded: tracing off costs next to nothing.
    if (span.isRecording()) span.setAttributes(redactAttributes(attributes));
    try {
      return await fn(span);
    } catch (error) {
      markSpanError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Status ERROR plus `error.type`; the message is the code too, so nothing from the error's text leaks. */
export function markSpanError(span: Span, error: unknown): void {
  const type = errorType(error);
  span.setAttribute(ATTR_ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

/** Set attributes on a span through the redaction guard. */
export function setSpanAttributes(span: Span, attributes: Readonly<Record<string, unknown>>): void {
  if (!span.isRecording()) return;
  span.setAttributes(redactAttributes(attributes));
}

function errorType(error: unknown): string {
  if (error !== null && typeof error === 'object') {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code)) return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && /^[A-Za-z][\w.]{0,63}$/.test(name)) return name;
  }
  return '_OTHER';
}

const propagator = new W3CTraceContextPropagator();

const metaGetter: TextMapGetter<Readonly<Record<string, unknown>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return typeof value === 'string' ? value : undefined;
  },
};

const recordSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/**
 * The context to parent a tool call on, from an MCP request's `params._meta` (`traceparent` and
 * `tracestate`, W3C format). Invalid or absent values leave `base` unchanged: an agent cannot break
 * tracing, only fail to join its own trace.
 */
export function extractTraceparentFromMeta(meta: unknown, base: Context = context.active()): Context {
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return base;
  return propagator.extract(base, meta as Readonly<Record<string, unknown>>, metaGetter);
}

/**
 * Write `traceparent` (and `tracestate` when present) for `ctx` into `carrier`: HTTP headers for
 * backends, `params._meta` for upstream MCP servers. Nothing is written when there is no valid span.
 */
export function injectTraceparent<C extends Record<string, string>>(carrier: C, ctx: Context = context.active()): C {
  propagator.inject(ctx, carrier, recordSetter as TextMapSetter<C>);
  return carrier;
}

/**
 * The W3C trace context fields of an HTTP request's headers (`traceparent`, `tracestate`), trimmed; a
 * header sent more than once is left out. For `extractTraceparentFromMeta`.
 */
export function traceHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['traceparent', 'tracestate'] as const) {
    const value = headers[name];
    if (typeof value === 'string') out[name] = value.trim();
  }
  return out;
}

/** Trace id of the active span, for audit records; undefined when there is none. */
export function currentTraceId(ctx: Context = context.active()): string | undefined {
  const spanContext = trace.getSpanContext(ctx);
  return spanContext !== undefined && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}
