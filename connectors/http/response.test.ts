import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectorError } from '../errors.js';
import { readBodyCapped, toToolResult } from './response.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('readBodyCapped', () => {
  it('reads a body up to the cap', async () => {
    assert.equal(new TextDecoder().decode(await readBodyCapped(new Response('hello'), 5)), 'hello');
  });

  it('stops reading a stream as soon as it passes the cap', async () => {
    let pulled = 0;
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new Uint8Array(1024));
      },
      cancel() {
        cancelled = true;
      },
    });
    await assert.rejects(
      readBodyCapped(new Response(stream), 4096),
      (e: unknown) => e instanceof ConnectorError && e.code === 'RESPONSE_TOO_LARGE',
    );
    assert.equal(cancelled, true);
    assert.ok(pulled <= 6, `pulled ${pulled} chunks`);
  });

  it('refuses a declared Content-Length above the cap without reading', async () => {
    const response = new Response('x'.repeat(10), { headers: { 'content-length': '10' } });
    await assert.rejects(
      readBodyCapped(response, 9),
      (e: unknown) => e instanceof ConnectorError && e.code === 'RESPONSE_TOO_LARGE',
    );
  });
});

describe('toToolResult', () => {
  it('maps a 2xx JSON object to structured content plus text', () => {
    assert.deepEqual(toToolResult(200, 'application/json; charset=utf-8', bytes('{"a":1}'), 'auto'), {
      content: [{ type: 'text', text: '{"a":1}' }],
      structuredContent: { a: 1 },
    });
    assert.deepEqual(toToolResult(200, 'application/problem+json', bytes('[1]'), 'auto'), {
      content: [{ type: 'text', text: '[1]' }],
    });
  });

  it('maps text, images, audio and other binary', () => {
    assert.deepEqual(toToolResult(200, 'text/plain', bytes('hi'), 'auto'), { content: [{ type: 'text', text: 'hi' }] });
    assert.deepEqual(toToolResult(200, 'text/plain; charset=iso-8859-1', Uint8Array.from([0xe9]), 'auto'), {
      content: [{ type: 'text', text: 'é' }],
    });
    assert.deepEqual(toToolResult(200, 'image/png', Uint8Array.from([1, 2]), 'auto'), {
      content: [{ type: 'image', data: 'AQI=', mimeType: 'image/png' }],
    });
    assert.deepEqual(toToolResult(200, 'audio/wav', Uint8Array.from([1]), 'auto'), {
      content: [{ type: 'audio', data: 'AQ==', mimeType: 'audio/wav' }],
    });
    assert.match(
      (toToolResult(200, 'application/pdf', Uint8Array.from([1]), 'auto').content[0] as { text: string }).text,
      /application\/pdf response of 1 bytes/,
    );
  });

  it('honours the response mode', () => {
    assert.deepEqual(toToolResult(200, 'text/plain', bytes('{"a":1}'), 'json').structuredContent, { a: 1 });
    assert.equal(toToolResult(200, 'application/json', bytes('{"a":1}'), 'text').structuredContent, undefined);
    const invalid = toToolResult(200, 'text/plain', bytes('not json'), 'json');
    assert.equal(invalid.isError, true);
    assert.equal(invalid._meta?.['portcullis/code'], 'UPSTREAM_ERROR');
    // auto: a JSON content type with a broken body is shown as text, not an error.
    assert.deepEqual(toToolResult(200, 'application/json', bytes('{oops'), 'auto'), {
      content: [{ type: 'text', text: '{oops' }],
    });
  });

  it('maps 4xx to an error result with a short single-line excerpt', () => {
    const result = toToolResult(404, 'application/json', bytes('{"message":"Not Found"}'), 'auto');
    assert.deepEqual(result, {
      content: [{ type: 'text', text: 'HTTP 404: {"message":"Not Found"}' }],
      isError: true,
      _meta: { status: 404 },
    });
    const long = toToolResult(400, 'text/plain', bytes(`line1\nline2${'x'.repeat(5000)}`), 'auto');
    const text = (long.content[0] as { text: string }).text;
    assert.ok(text.length < 320 && !text.includes('\n'), text);
  });

  it('marks 5xx and 3xx as upstream errors', () => {
    assert.deepEqual(toToolResult(502, 'text/plain', bytes('bad gateway'), 'auto'), {
      content: [{ type: 'text', text: 'HTTP 502: bad gateway' }],
      isError: true,
      _meta: { 'portcullis/code': 'UPSTREAM_ERROR', status: 502 },
    });
    const redirect = toToolResult(302, null, new Uint8Array(0), 'auto');
    assert.equal(redirect.isError, true);
    assert.deepEqual(redirect._meta, { 'portcullis/code': 'UPSTREAM_ERROR', status: 302 });
  });

  it('describes an empty success', () => {
    assert.deepEqual(toToolResult(204, null, new Uint8Array(0), 'auto'), {
      content: [{ type: 'text', text: 'HTTP 204 (no content)' }],
    });
  });
});
