/**
 * Read a JSON request body with a hard size limit: the MCP hot path's lean replacement for a general body
 * parser (JSON only, UTF-8 only, no compression). Errors carry `status` and `type` the way the app's error
 * handler expects (413 too large, 415 not JSON, 400 `entity.parse.failed`).
 */
import type { IncomingMessage } from 'node:http';

export class BodyError extends Error {
  override readonly name = 'BodyError';
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const contentType = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(contentType) || /charset=(?!"?utf-8"?\s*(;|$))/i.test(contentType)) {
    req.resume();
    return Promise.reject(
      new BodyError(415, 'unsupported.media.type', 'expected content-type application/json (UTF-8)'),
    );
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(new BodyError(413, 'entity.too.large', 'request body too large'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new BodyError(413, 'entity.too.large', 'request body too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (error) => {
      if (!failed) reject(error);
      failed = true;
    });
    req.on('end', () => {
      if (failed) return;
      try {
        // A body that came in one chunk (most do) is decoded where it is, without a copy.
        const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        resolve(JSON.parse(bytes.toString('utf8')));
      } catch {
        reject(new BodyError(400, 'entity.parse.failed', 'invalid JSON'));
      }
    });
  });
}
