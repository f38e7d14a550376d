/**
 * Newline-delimited message framing for stdio with a cap on the size of one message.
 *
 * A line longer than the cap is never buffered whole: once it crosses the cap, its bytes are dropped as
 * they arrive, keeping only a short head and tail so the caller can still tell which request the message
 * answered. Memory stays bounded by the cap whatever the child writes.
 */

/** Bytes kept from each end of an oversized line: enough for a JSON-RPC envelope's `id`. */
const EDGE_BYTES = 4096;

export interface OversizedLine {
  /** First bytes of the line. */
  head: string;
  /** Last bytes of the line. */
  tail: string;
  /** Length of the whole line in bytes. */
  bytes: number;
}

export interface LineReaderEvents {
  onLine(line: string): void;
  /** The current line just crossed the cap; its first bytes, so it can be attributed before it ends. */
  onOversizedStart?(head: string): void;
  /** An oversized line ended (its bytes were dropped). */
  onOversized(line: OversizedLine): void;
}

export class LineReader {
  private chunks: Buffer[] = [];
  private length = 0;
  /** Set while the current line is being dropped. */
  private dropping: { head: Buffer; tail: Buffer; bytes: number } | undefined;

  constructor(
    private readonly maxLineBytes: number,
    private readonly events: LineReaderEvents,
  ) {}

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const newline = chunk.indexOf(0x0a, offset);
      const end = newline === -1 ? chunk.length : newline;
      this.take(chunk.subarray(offset, end));
      if (newline === -1) return;
      this.endLine();
      offset = newline + 1;
    }
  }

  /** Forget a partial line (the stream ended or restarted). */
  reset(): void {
    this.chunks = [];
    this.length = 0;
    this.dropping = undefined;
  }

  private take(part: Buffer): void {
    if (part.length === 0) return;
    if (this.dropping !== undefined) {
      this.dropping.bytes += part.length;
      this.dropping.tail = keepTail(this.dropping.tail, part);
      return;
    }
    if (this.length + part.length <= this.maxLineBytes) {
      // Copied: the chunk's memory belongs to the stream and may be reused.
      this.chunks.push(Buffer.from(part));
      this.length += part.length;
      return;
    }
    const buffered = Buffer.concat([...this.chunks, part]);
    this.dropping = {
      head: Buffer.from(buffered.subarray(0, EDGE_BYTES)),
      tail: Buffer.from(buffered.subarray(Math.max(0, buffered.length - EDGE_BYTES))),
      bytes: buffered.length,
    };
    this.chunks = [];
    this.length = 0;
    this.events.onOversizedStart?.(this.dropping.head.toString('utf8'));
  }

  private endLine(): void {
    const dropped = this.dropping;
    if (dropped !== undefined) {
      this.dropping = undefined;
      this.events.onOversized({
        head: dropped.head.toString('utf8'),
        tail: dropped.tail.toString('utf8'),
        bytes: dropped.bytes,
      });
      return;
    }
    const line = Buffer.concat(this.chunks, this.length).toString('utf8').replace(/\r$/, '');
    this.chunks = [];
    this.length = 0;
    if (line.trim() !== '') this.events.onLine(line);
  }
}

function keepTail(tail: Buffer, part: Buffer): Buffer {
  if (part.length >= EDGE_BYTES) return Buffer.from(part.subarray(part.length - EDGE_BYTES));
  const joined = Buffer.concat([tail, part]);
  return joined.length <= EDGE_BYTES ? joined : Buffer.from(joined.subarray(joined.length - EDGE_BYTES));
}

/**
 * The JSON-RPC id of a message from its edges, when the envelope shows it: `{"jsonrpc":"2.0","id":7,...`
 * at the start or `...,"id":7}` at the very end (where the TypeScript SDK puts it). Undefined otherwise.
 */
export function envelopeId(line: OversizedLine): string | number | undefined {
  const value =
    /^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*("(?:[^"\\]|\\.){0,256}"|-?\d{1,16})\s*,/.exec(
      line.head,
    )?.[1] ?? /,\s*"id"\s*:\s*("(?:[^"\\]|\\.){0,256}"|-?\d{1,16})\s*\}\s*$/.exec(line.tail)?.[1];
  if (value === undefined) return undefined;
  return value.startsWith('"') ? (JSON.parse(value) as string) : Number(value);
}
