/**
 * A response body wrapper that enforces the guard's size cap and reports the end of the exchange.
 *
 * Bytes are counted after content decoding (that is what the caller reads), so a small compressed body that
 * inflates past the cap is stopped too. Crossing the cap errors the stream with RESPONSE_TOO_LARGE and cancels
 * the upstream body so the connection is released. Read errors go through `mapError`, which lets the guard
 * turn its own deadline into UPSTREAM_TIMEOUT while a caller's abort keeps its own reason.
 */
import { capStream, totalBytesCounter } from '../../../connectors/capped-stream.js';
import { EgressError } from './errors.js';

export interface LimitBodyOptions {
  maxBytes: number;
  /** Host named in the error message. */
  host: string;
  /** Turns an upstream read error into what the caller should see. */
  mapError: (error: unknown) => unknown;
  /** Called exactly once, when the body ended, errored or was cancelled. */
  onSettled: () => void;
}

export function limitBody(body: ReadableStream<Uint8Array>, options: LimitBodyOptions): ReadableStream<Uint8Array> {
  return capStream(body, {
    crossed: totalBytesCounter(options.maxBytes),
    tooLarge: () => tooLarge(options.host, options.maxBytes),
    mapError: options.mapError,
    onSettled: options.onSettled,
  });
}

export function tooLarge(host: string, maxBytes: number): EgressError {
  return new EgressError('RESPONSE_TOO_LARGE', `response from ${host} exceeds the limit of ${maxBytes} bytes`);
}
