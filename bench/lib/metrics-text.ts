/** A target's `/metrics` exposition, read once for every figure the bench takes from it. */

/** The text `/metrics` answers now; undefined when it cannot be read. */
export async function readMetricsText(metricsUrl: string): Promise<string | undefined> {
  try {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) return undefined;
    return await response.text();
  } catch {
    return undefined;
  }
}
