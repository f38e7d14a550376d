/**
 * Structured JSON logs (pino) on stderr, so stdout stays free for the MCP stdio transport. Values under
 * keys that commonly hold credentials are censored as a last line of defence; code must still never log a
 * secret on purpose (Secrets print `[redacted]` anyway).
 */
import { context, trace } from '@opentelemetry/api';
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT_PATHS = [
  'authorization',
  'token',
  'apiKey',
  'password',
  'secret',
  '*.authorization',
  '*.token',
  '*.apiKey',
  '*.password',
  '*.secret',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
];

export function createLogger(
  options: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {},
): Logger {
  return pino(
    {
      name: options.name ?? 'portcullis',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // No pid or hostname on each line; pino still adds `name`.
      base: {},
      timestamp: pino.stdTimeFunctions.isoTime,
      // Every line logged inside a traced call carries its trace and span ids, to jump to the trace.
      mixin() {
        const span = trace.getSpanContext(context.active());
        return span !== undefined && trace.isSpanContextValid(span)
          ? { trace_id: span.traceId, span_id: span.spanId }
          : {};
      },
    },
    (options.destination ?? process.stderr) as pino.DestinationStream,
  );
}

/** A logger that drops everything (tests, embedded use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
