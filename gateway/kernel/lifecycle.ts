/** Closing what was opened: each part registers how to close it, and closing runs last-in first-out. */
export type Closer = () => Promise<void>;

/** Runs every closer, newest first; one that fails does not stop the others. */
export async function closeAll(closers: Closer[]): Promise<void> {
  for (let close = closers.pop(); close !== undefined; close = closers.pop()) await close().catch(() => undefined);
}

/**
 * Runs `open`, which registers a closer for each part it opens. On failure, what was opened is closed at once
 * and the error rethrown; otherwise the result's `close` closes it all.
 */
export async function openAll<T>(open: (closers: Closer[]) => Promise<T>): Promise<T & { close(): Promise<void> }> {
  const closers: Closer[] = [];
  try {
    return { ...(await open(closers)), close: () => closeAll(closers) };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}
