/**
 * The connector's own stdio transport: it spawns the upstream server and frames its stdout itself, so the
 * size cap on one message holds whatever the SDK does. A message over the cap is dropped while it streams
 * in (never buffered whole); when its envelope shows which request it answers, that call fails with
 * RESPONSE_TOO_LARGE at once, otherwise the drop is reported through `onerror` and the request runs into
 * its deadline.
 *
 * Era negotiation probes on this same child (see `stderr`): a stdio upstream is spawned once per connection.
 *
 * Lifecycle as the SDK's stdio client transport: `close()` ends stdin, then sends SIGTERM, then SIGKILL,
 * each after a grace period; the child's exit is reported through `onclose`. `start()` adopts a child
 * started ahead of the connection (`early`, see stdio-child.ts) when it is still running and was started
 * exactly as this transport would start it, and spawns one otherwise.
 */
import type { ChildProcess } from 'node:child_process';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client';
import { DictionaryMap } from '../call-registries.js';
import { ConnectorError } from '../errors.js';
import { currentCallScope, outsideCallScope, type UpstreamCallScope } from './call-scope.js';
import { envelopeId, LineReader, type OversizedLine } from './line-reader.js';
import { spawnStdioChild, stopStdioChild, type EarlyStdioChild, type StdioSpawnOptions } from './stdio-child.js';

export interface StdioTransportOptions extends StdioSpawnOptions {
  /** Cap on one message from the child, in bytes. */
  maxMessageBytes: number;
  /** A child started ahead of this connection, adopted by `start()` when it fits (stopped by `close()` if not). */
  early?: EarlyStdioChild;
}

export class LimitedStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private child: ChildProcess | undefined;
  private readonly reader: LineReader;
  /**
   * Requests sent on behalf of a call, by JSON-RPC id, until their answer arrives or the call ends. Not a
   * `Map`: an entry comes and goes with every call (see call-registries.ts).
   */
  private readonly pending = new DictionaryMap<string | number, UpstreamCallScope>();

  constructor(private readonly options: StdioTransportOptions) {
    this.reader = new LineReader(options.maxMessageBytes, {
      onLine: (line) => this.deliver(line),
      // An envelope that names its id first is refused at once; one that names it last, at its end.
      onOversizedStart: (head) => this.refuseStart(head),
      onOversized: (line) => this.refuseEnd(line),
    });
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /**
   * The child's stderr goes to the gateway's own stderr, so there is no stream to hand out. Present (with
   * `pid`) so the SDK recognises a stdio transport: era negotiation then probes in place on this one child
   * and reads a probe that times out as a legacy server, never spawning a second process to probe.
   */
  get stderr(): null {
    return null;
  }

  start(): Promise<void> {
    if (this.child !== undefined) return Promise.reject(new Error('the stdio transport is already started'));
    const adopted = this.options.early?.take(this.options);
    if (adopted !== undefined) {
      this.attach(adopted);
      adopted.on('error', (error) => this.onerror?.(error));
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const child = spawnStdioChild(this.options);
      this.attach(child);
      child.on('error', (error) => {
        reject(error);
        this.onerror?.(error);
      });
      child.on('spawn', () => resolve());
    });
  }

  /** The child becomes this transport's: its output is framed here, its exit is this transport's close. */
  private attach(child: ChildProcess): void {
    this.child = child;
    child.on('close', () => {
      if (this.child === child) this.child = undefined;
      this.reader.reset();
      this.pending.clear();
      this.onclose?.();
    });
    child.stdin?.on('error', (error) => this.onerror?.(error));
    child.stdout?.on('error', (error) => this.onerror?.(error));
    child.stdout?.on('data', (chunk: Buffer) => this.reader.push(chunk));
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (stdin === undefined || stdin === null) return Promise.reject(new Error('Not connected'));
    const scope = currentCallScope();
    if (scope !== undefined && 'method' in message && 'id' in message) this.track(message.id, scope);
    if (stdin.writableCorked === 0) {
      // Messages sent in the same turn of the event loop (the calls one group commit released, say) leave
      // in one write to the pipe instead of one each: fewer system calls here and fewer wake-ups of the
      // upstream. The pipe is uncorked as soon as this turn's synchronous work and microtasks are done.
      stdin.cork();
      process.nextTick(() => stdin.uncork());
    }
    return new Promise((resolve, reject) => {
      const flushed = stdin.write(`${JSON.stringify(message)}\n`, (error) => {
        if (error !== null && error !== undefined) reject(error);
      });
      if (flushed) resolve();
      else stdin.once('drain', () => resolve());
    });
  }

  async close(): Promise<void> {
    // A child started ahead and never adopted (start() was not reached) is stopped too.
    await this.options.early?.close();
    const child = this.child;
    this.child = undefined;
    if (child === undefined) return;
    await stopStdioChild(child);
  }

  private track(id: string | number, scope: UpstreamCallScope): void {
    this.pending.set(id, scope);
    scope.signal.addEventListener('abort', () => this.pending.delete(id), { once: true });
  }

  /**
   * One line from the child. Only the JSON-RPC envelope is checked here: the SDK's protocol layer this
   * transport feeds checks every message against the schema of its kind (and drops, through `onerror`, one
   * that fits none), so validating it here as well cost every call a second schema parse of the upstream's
   * answer, and the garbage of a union parse that tries the request and notification shapes first.
   */
  private deliver(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.onerror?.(new Error('the upstream sent a line that is not JSON'));
      return;
    }
    if (!isJsonRpcEnvelope(message)) {
      this.onerror?.(new Error('the upstream sent a message that is not JSON-RPC 2.0'));
      return;
    }
    if (isAnswer(message)) this.pending.delete(message.id);
    // One pipe carries every call's traffic: nothing read from it belongs to a call by where it arrived.
    outsideCallScope(() => this.onmessage?.(message));
  }

  /** Whether the oversized line being dropped was already attributed to its call. */
  private dropAttributed = false;

  private refuseStart(head: string): void {
    const id = envelopeId({ head, tail: '', bytes: 0 });
    this.dropAttributed = id !== undefined && this.failPending(id);
  }

  private refuseEnd(line: OversizedLine): void {
    const attributed = this.dropAttributed;
    this.dropAttributed = false;
    if (attributed) return;
    const id = envelopeId(line);
    if (id !== undefined && this.failPending(id)) return;
    const limit = this.options.maxMessageBytes;
    this.onerror?.(new Error(`dropped a message of ${line.bytes} bytes from the upstream MCP server (limit ${limit})`));
  }

  /** Fail the call waiting for `id` with RESPONSE_TOO_LARGE; false when no call waits for it. */
  private failPending(id: string | number): boolean {
    const scope = this.pending.get(id);
    if (scope === undefined) return false;
    this.pending.delete(id);
    scope.fail(
      new ConnectorError(
        'RESPONSE_TOO_LARGE',
        `the upstream MCP server's response exceeds the limit of ${this.options.maxMessageBytes} bytes`,
      ),
    );
    return true;
  }
}

/** A JSON object that says it is JSON-RPC 2.0 (its members are the protocol layer's to check). */
function isJsonRpcEnvelope(value: unknown): value is JSONRPCMessage {
  return isObject(value) && value['jsonrpc'] === '2.0';
}

/**
 * An answer to one of our requests, in the shape the protocol layer takes as one: no method, an id, and a
 * result object or an error object with a numeric code. A malformed answer, which that layer drops, leaves
 * the call waiting, and still attributed to the request, for its proper one.
 */
function isAnswer(message: JSONRPCMessage): message is JSONRPCMessage & { id: string | number } {
  const { id, result, error } = message as { id?: unknown; result?: unknown; error?: unknown };
  if ('method' in message || (typeof id !== 'string' && typeof id !== 'number')) return false;
  return isObject(result) || (isObject(error) && typeof error['code'] === 'number');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
