/** What starting a gateway takes (gateway/main.ts, through compose.ts). */
import type { Environment, LoadedConfig } from './config/index.js';
import type { Logger } from './kernel/index.js';
import type { EarlyUpstreams } from './services/catalog/index.js';

export interface StartOptions {
  loaded: LoadedConfig;
  /** The gateway's own URL (issuer of its tokens); defaults to `http.publicUrl`, else the listen address. */
  baseUrl?: string;
  /** Defaults to process.env; tests pass their own. */
  env?: Environment;
  logger?: Logger;
  /**
   * The stdio upstream servers, started by the command while the gateway loaded (early-upstreams.ts);
   * without them, start-up starts them itself after the configuration checks. Each connector's first
   * connection adopts its own server's process.
   */
  earlyUpstreams?: EarlyUpstreams;
}
