/**
 * No method or routing override reaches a backend: what policy, approval and audit see (method and URL)
 * is exactly what the backend receives, checked at a recording backend.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ConfigError } from '../gateway/config/load.js';
import { startRecordingServer, type RecordingServer } from './fixtures/recording-server.js';
import { readAudit, startTestGateway, type TestGateway } from './helpers/gateway.js';

const OVERRIDES = ['x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-url', 'x-rewrite-url'];

const document = {
  openapi: '3.0.3',
  info: { title: 'items', version: '1' },
  paths: {
    '/items': {
      post: {
        operationId: 'createItem',
        parameters: [
          { name: 'X-HTTP-Method-Override', in: 'header', required: true, schema: { type: 'string' } },
          { name: 'X-HTTP-Method', in: 'header', schema: { type: 'string' } },
          { name: 'X-Original-URL', in: 'header', schema: { type: 'string' } },
          { name: '_method', in: 'query', schema: { type: 'string' } },
          { name: 'tag', in: 'query', schema: { type: 'string' } },
        ],
        requestBody: { content: { 'application/json': { schema: { type: 'object' } } } },
        responses: { '200': { description: 'ok' } },
      },
    },
  },
};

describe('method and routing overrides never reach the backend', () => {
  let backend: RecordingServer;
  let gw: TestGateway;
  let client: Client;

  before(async () => {
    backend = await startRecordingServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    gw = await startTestGateway(
      {
        connectors: [{ id: 'items', kind: 'http', baseUrl: backend.url.replace(/\/$/, ''), openapi: { document } }],
        egress: { connectors: { items: { allowPrivate: ['127.0.0.1/32'] } } },
      },
      [{ id: 'agent', tools: ['items_createItem'] }],
    );
    client = await gw.connect('agent');
  });
  after(async () => {
    await gw?.close();
    await backend?.close();
  });

  it('the imported tool offers no override parameter', async () => {
    const { tools } = await client.listTools();
    const create = tools.find((t) => t.name === 'items_createItem');
    assert.ok(create !== undefined);
    assert.deepEqual(Object.keys(create.inputSchema.properties ?? {}).sort(), ['body', 'tag']);
  });

  it('an agent that passes an override as an argument is refused and nothing is sent', async () => {
    const mark = backend.requests.length;
    for (const name of ['X-HTTP-Method-Override', '_method']) {
      await assert.rejects(
        client.callTool({ name: 'items_createItem', arguments: { tag: 'a', body: {}, [name]: 'DELETE' } }),
        /INVALID_ARGUMENTS|Invalid arguments|does not match/i,
      );
    }
    assert.equal(backend.requests.length, mark, 'nothing reached the backend');
  });

  it('the backend receives exactly the method and URL that policy and audit saw', async () => {
    const mark = backend.requests.length;
    const result = await client.callTool({ name: 'items_createItem', arguments: { tag: 'x', body: { a: 1 } } });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    const received = backend.requests.slice(mark);
    assert.equal(received.length, 1);
    const request = received[0]!;
    assert.equal(request.method, 'POST');
    assert.equal(request.url, '/items?tag=x');
    for (const name of OVERRIDES) assert.equal(request.headers[name], undefined, name);
    assert.doesNotMatch(request.url, /_method/);

    const records = await readAudit(gw.auditFile);
    const record = records.findLast((r) => r['event'] === 'tool.call' && r['tool'] === 'items_createItem');
    assert.ok(record !== undefined);
    const { port } = new URL(backend.url);
    assert.equal(record['operation'], `POST http://127.0.0.1:${port}/items?tag=x`);
  });

  it('a configured tool mapping an override header or query parameter does not start', async () => {
    for (const mapping of [
      { headers: { 'X-HTTP-Method-Override': 'verb' } },
      { headers: { 'X-Original-URL': 'verb' } },
      { query: { _method: 'verb' } },
    ]) {
      await assert.rejects(
        startTestGateway(
          {
            connectors: [
              {
                id: 'bad',
                kind: 'http',
                baseUrl: backend.url.replace(/\/$/, ''),
                tools: [
                  {
                    name: 'update',
                    method: 'POST',
                    path: '/items',
                    inputSchema: { type: 'object', properties: { verb: { type: 'string' } } },
                    ...mapping,
                  },
                ],
              },
            ],
          },
          [{ id: 'agent' }],
        ),
        (error: unknown) => error instanceof ConfigError && /cannot be mapped/.test(error.message),
      );
    }
  });
});
