/**
 * From a backend's HTTP response to a tool result.
 *
 * The body is read with a hard cap (reading stops, and the stream is cancelled, as soon as it is passed).
 * Mapping: 2xx JSON object -> `structuredContent` plus the JSON as text; other JSON and text -> text;
 * images and audio -> image / audio blocks; 3xx (redirects are not followed here), 4xx and 5xx ->
 * `isError` results with a short excerpt. A 5xx is marked `UPSTREAM_ERROR` in `_meta` so it is never
 * taken for the caller's fault. Excerpts are short and single-line; the full body is never put in an error.
 */
import type { ContentBlock, JsonObject, ToolResult } from '../contract.js';
import { ConnectorError } from '../errors.js';

export type ResponseMode = 'auto' | 'json' | 'text';

const EXCERPT_CHARS = 300;

/**
 * Read the whole body, refusing more than `maxBytes`: a declared Content-Length above the cap fails before
 * reading, and a streamed body fails as soon as it passes the cap. Throws ConnectorError RESPONSE_TOO_LARGE.
 */
export async function readBodyCapped(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(maxBytes);
  }
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function tooLarge(maxBytes: number): ConnectorError {
  return new ConnectorError('RESPONSE_TOO_LARGE', `the backend response exceeds the limit of ${maxBytes} bytes`, {
    maxBytes,
  });
}

interface MediaType {
  essence: string;
  charset?: string;
}

function parseMediaType(header: string | null): MediaType {
  if (header === null) return { essence: '' };
  const [essence = '', ...params] = header.split(';');
  const charset = params
    .map((p) => p.trim())
    .find((p) => /^charset=/i.test(p))
    ?.slice('charset='.length)
    .replace(/^"|"$/g, '');
  return { essence: essence.trim().toLowerCase(), ...(charset !== undefined ? { charset } : {}) };
}

function isJsonType(essence: string): boolean {
  return essence === 'application/json' || /^application\/[a-z0-9.+-]*\+json$/.test(essence);
}

function isTextType(essence: string): boolean {
  return (
    essence.startsWith('text/') ||
    essence === 'application/xml' ||
    /\+xml$/.test(essence) ||
    essence === 'application/javascript' ||
    essence === 'application/x-www-form-urlencoded' ||
    essence === 'application/yaml' ||
    essence === 'application/x-ndjson'
  );
}

function decodeText(bytes: Uint8Array, charset: string | undefined): string {
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    // Unknown charset label: UTF-8 with replacement characters rather than failing the call.
    return new TextDecoder('utf-8').decode(bytes);
  }
}

function excerpt(text: string): string {
  // eslint-disable-next-line no-control-regex
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return line.length > EXCERPT_CHARS ? `${line.slice(0, EXCERPT_CHARS)}…` : line;
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type Body =
  | { kind: 'empty' }
  | { kind: 'json'; value: unknown; text: string }
  | { kind: 'text'; text: string }
  | { kind: 'invalid-json'; text: string }
  | { kind: 'media'; block: ContentBlock; mimeType: string; bytes: number }
  | { kind: 'binary'; mimeType: string; bytes: number };

function interpret(bytes: Uint8Array, contentType: string | null, mode: ResponseMode): Body {
  if (bytes.byteLength === 0) return { kind: 'empty' };
  const media = parseMediaType(contentType);
  if (mode === 'text') return { kind: 'text', text: decodeText(bytes, media.charset) };
  if (mode === 'json' || isJsonType(media.essence)) {
    const text = decodeText(bytes, media.charset);
    try {
      return { kind: 'json', value: JSON.parse(text) as unknown, text };
    } catch {
      return mode === 'json' ? { kind: 'invalid-json', text } : { kind: 'text', text };
    }
  }
  if (media.essence === '' || isTextType(media.essence))
    return { kind: 'text', text: decodeText(bytes, media.charset) };
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  if (media.essence.startsWith('image/'))
    return {
      kind: 'media',
      block: { type: 'image', data, mimeType: media.essence },
      mimeType: media.essence,
      bytes: bytes.byteLength,
    };
  if (media.essence.startsWith('audio/'))
    return {
      kind: 'media',
      block: { type: 'audio', data, mimeType: media.essence },
      mimeType: media.essence,
      bytes: bytes.byteLength,
    };
  return { kind: 'binary', mimeType: media.essence, bytes: bytes.byteLength };
}

function describe(body: Body): string {
  switch (body.kind) {
    case 'empty':
      return '(empty body)';
    case 'json':
      return excerpt(JSON.stringify(body.value));
    case 'text':
    case 'invalid-json':
      return excerpt(body.text);
    case 'media':
    case 'binary':
      return `(${body.mimeType} body, ${body.bytes} bytes)`;
  }
}

/** Map a response whose body has been read (see `readBodyCapped`) to a tool result. */
export function toToolResult(
  status: number,
  contentType: string | null,
  bytes: Uint8Array,
  mode: ResponseMode,
): ToolResult {
  const body = interpret(bytes, contentType, mode);
  if (status >= 500) {
    return {
      content: [{ type: 'text', text: `HTTP ${status}: ${describe(body)}` }],
      isError: true,
      _meta: { 'portcullis/code': 'UPSTREAM_ERROR', status },
    };
  }
  if (status >= 300 && status < 400) {
    // Redirects are the egress guard's business; a tool call does not follow one on its own.
    return {
      content: [{ type: 'text', text: `HTTP ${status}: the backend answered with a redirect, which is not followed` }],
      isError: true,
      _meta: { 'portcullis/code': 'UPSTREAM_ERROR', status },
    };
  }
  if (status >= 400 || status < 200) {
    return { content: [{ type: 'text', text: `HTTP ${status}: ${describe(body)}` }], isError: true, _meta: { status } };
  }
  switch (body.kind) {
    case 'empty':
      return { content: [{ type: 'text', text: `HTTP ${status} (no content)` }] };
    case 'json':
      return isJsonObject(body.value)
        ? { content: [{ type: 'text', text: JSON.stringify(body.value) }], structuredContent: body.value }
        : { content: [{ type: 'text', text: JSON.stringify(body.value) }] };
    case 'text':
      return { content: [{ type: 'text', text: body.text }] };
    case 'invalid-json':
      return {
        content: [
          { type: 'text', text: `HTTP ${status}: the backend response is not valid JSON: ${excerpt(body.text)}` },
        ],
        isError: true,
        _meta: { 'portcullis/code': 'UPSTREAM_ERROR', status },
      };
    case 'media':
      return { content: [body.block] };
    case 'binary':
      return {
        content: [
          {
            type: 'text',
            text: `HTTP ${status}: ${body.mimeType} response of ${body.bytes} bytes (binary, not shown)`,
          },
        ],
      };
  }
}
