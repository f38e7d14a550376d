/**
 * What the benchmark's two drivers (the raw client and the SDK's) share about the protocol eras: the era a
 * run speaks, the 2026-07-28 revision they pin, where Portcullis returns a 2026-07-28 request's task handle,
 * and the error for a server that does not speak the era asked for.
 */
export { TASK_HANDLE_META_KEY } from '../../gateway/edges/mcp/modern-task.js';

/** The protocol era a driver speaks: 2025 sessions (`legacy`) or stateless 2026-07-28 requests (`modern`). */
export type EraMode = 'legacy' | 'modern';
export const ERA_MODES: readonly EraMode[] = ['legacy', 'modern'];

export const MODERN_PROTOCOL_VERSION = '2026-07-28';

/**
 * The server does not speak the requested era (e.g. no 2026-07-28 support yet). Both drivers throw it on a
 * session's first exchange; the bench reports the cell as unsupported for that target.
 */
export class UnsupportedEraError extends Error {
  readonly code = 'ERA_UNSUPPORTED';
  override readonly name = 'UnsupportedEraError';
}
