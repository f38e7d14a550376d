/**
 * Starts the OpenTelemetry SDK: traces exported over OTLP/HTTP (JSON) through a batch span processor.
 * Part of the composition root: loaded only by start.ts, and only when tracing is on (the SDK is a large
 * module tree, which a gateway without tracing does not load); everything else uses `@opentelemetry/api`
 * (spans.ts), which stays a no-op until this runs.
 *
 * Configuration precedence: the standard OTEL_* environment variables win over the gateway config, so
 * operators can redirect telemetry without editing files:
 * - OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT over `otlpEndpoint`,
 * - OTEL_EXPORTER_OTLP_TRACES_HEADERS / OTEL_EXPORTER_OTLP_HEADERS over `headers`,
 * - OTEL_TRACES_SAMPLER (+ _ARG) over `sampleRatio`, OTEL_SERVICE_NAME over `serviceName`,
 * - OTEL_BSP_* tune the batch processor, OTEL_EXPORTER_OTLP_COMPRESSION / _TIMEOUT the exporter,
 * - OTEL_TRACES_EXPORTER hands the exporter choice to the SDK entirely (otlp, console, zipkin, none),
 * - OTEL_SDK_DISABLED=true turns it all off.
 * Metrics and logs are not exported through OpenTelemetry (metrics are Prometheus, logs are pino) unless
 * OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER ask for it explicitly.
 *
 * The resource is detected from OTEL_RESOURCE_ATTRIBUTES and the host only; the process detector is left
 * out because it records the full command line (OTEL_NODE_RESOURCE_DETECTORS overrides this).
 *
 * Telemetry fails open: an unreachable collector loses spans, never a tool call.
 */
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { envDetector, hostDetector } from '@opentelemetry/resources';
import { ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';

export interface TelemetryConfig {
  serviceName: string;
  /** OTLP/HTTP base URL, e.g. `http://127.0.0.1:4318`; spans go to `${otlpEndpoint}/v1/traces`. */
  otlpEndpoint?: string;
  /** Fraction of new traces sampled (0..1), default 1. Traces the agent started follow its sampled flag. */
  sampleRatio?: number;
  /** Extra headers for the collector (e.g. its API key). */
  headers?: Record<string, string>;
  /** Environment to read OTEL_* precedence from; defaults to process.env (main.ts may pass its own). */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface Telemetry {
  /** Flush pending spans and stop exporting. Never rejects. */
  shutdown(): Promise<void>;
}

const SHUTDOWN_LIMIT_MS = 2000;

export function startTelemetry(config: TelemetryConfig): Telemetry {
  const env = config.env ?? process.env;
  const set = (name: string): boolean => (env[name] ?? '').trim() !== '';

  const ratio = config.sampleRatio ?? 1;
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError('sampleRatio must be between 0 and 1');

  const exporterOptions: ConstructorParameters<typeof OTLPTraceExporter>[0] = {};
  if (
    config.otlpEndpoint !== undefined &&
    !set('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') &&
    !set('OTEL_EXPORTER_OTLP_ENDPOINT')
  ) {
    exporterOptions.url = `${config.otlpEndpoint.replace(/\/+$/, '')}/v1/traces`;
  }
  if (config.headers !== undefined && !set('OTEL_EXPORTER_OTLP_TRACES_HEADERS') && !set('OTEL_EXPORTER_OTLP_HEADERS')) {
    exporterOptions.headers = { ...config.headers };
  }

  const sdk = new NodeSDK({
    // With an exporter given, the SDK wraps it in a BatchSpanProcessor configured from OTEL_BSP_*.
    ...(set('OTEL_TRACES_EXPORTER') ? {} : { traceExporter: new OTLPTraceExporter(exporterOptions) }),
    ...(set('OTEL_TRACES_SAMPLER')
      ? {}
      : { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }) }),
    ...(set('OTEL_SERVICE_NAME') ? {} : { serviceName: config.serviceName }),
    ...(set('OTEL_METRICS_EXPORTER') ? {} : { metricReaders: [] }),
    ...(set('OTEL_LOGS_EXPORTER') ? {} : { logRecordProcessors: [] }),
    // Not the process detector: it records the full command line, which may carry secrets.
    ...(set('OTEL_NODE_RESOURCE_DETECTORS') ? {} : { resourceDetectors: [envDetector, hostDetector] }),
    instrumentations: [],
  });
  sdk.start();

  let stopping: Promise<void> | undefined;
  return {
    shutdown: () => {
      // Bounded: an unreachable collector must not hold up the gateway's exit (spans are best effort).
      stopping ??= Promise.race([
        sdk.shutdown().catch(() => undefined),
        new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_LIMIT_MS).unref()),
      ]);
      return stopping;
    },
  };
}
