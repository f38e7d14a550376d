/**
 * Tracing as the configuration says (`telemetry`): when enabled, the OpenTelemetry SDK is loaded and
 * started (sdk.ts); when not, it is not even loaded, so a gateway without tracing starts without it. It
 * fails open: an unreachable collector never affects calls (batch export, dropped spans).
 */
import type { Telemetry, TelemetryConfig } from './sdk.js';

export type { Telemetry } from './sdk.js';

export async function startConfiguredTelemetry(
  config: { enabled: boolean; serviceName: string; otlpEndpoint?: string | undefined; sampleRatio: number },
  env: TelemetryConfig['env'],
): Promise<Telemetry> {
  if (!config.enabled) return { shutdown: async () => undefined };
  const { startTelemetry } = await import('./sdk.js');
  const { serviceName, otlpEndpoint, sampleRatio } = config;
  return startTelemetry({
    serviceName,
    sampleRatio,
    ...(env !== undefined ? { env } : {}),
    ...(otlpEndpoint !== undefined ? { otlpEndpoint } : {}),
  });
}
