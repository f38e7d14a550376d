/** The approval webhook notifier against a real HTTP server on port 0. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { elevationRequest } from '../gateway/services/approvals/contract.test-suite.js';
import { createMemoryApprovalQueue } from '../gateway/services/approvals/memory-queue.js';
import { createWebhookNotifier } from '../gateway/services/approvals/webhook.js';
import { createLogger } from '../gateway/kernel/log.js';

interface Received {
  method: string;
  path: string;
  contentType: string | undefined;
  body: string;
}

async function startServer(
  respond: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      });
      respond(req, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/T0KEN-IN-PATH`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function captureLogs(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { logger: createLogger({ destination, level: 'debug' }), lines };
}

test('each new request is posted once as a compact summary without secrets', async () => {
  const server = await startServer((_req, res) => res.writeHead(204).end());
  const notifier = createWebhookNotifier({
    url: server.url,
    linkFor: (t) => `https://gw.example/console#/approvals/${t.id}`,
  });
  const queue = createMemoryApprovalQueue({ onCreated: (ticket) => notifier.notify(ticket) });
  try {
    const request = elevationRequest({
      operation: { method: 'POST', url: 'https://billing.example/v1/refunds?api_key=QUERY-SECRET#frag' },
      args: { invoice: 'inv-9', password: 'ARG-SECRET' },
      justification: 'customer was charged twice',
    });
    const ticket = await queue.request(request);
    assert.equal((await queue.request(request)).id, ticket.id);
    await notifier.close();

    assert.equal(server.received.length, 1);
    const [hit] = server.received;
    assert.equal(hit!.method, 'POST');
    assert.equal(hit!.path, '/hooks/T0KEN-IN-PATH');
    assert.equal(hit!.contentType, 'application/json');
    assert.doesNotMatch(hit!.body, /QUERY-SECRET|ARG-SECRET|frag/);
    const summary = JSON.parse(hit!.body) as Record<string, unknown>;
    assert.equal(summary['type'], 'portcullis.approval.requested');
    assert.equal(summary['id'], ticket.id);
    assert.equal(summary['agentId'], 'agent-1');
    assert.equal(summary['taskId'], ticket.taskId);
    assert.equal(summary['tool'], 'billing_refund');
    assert.equal(summary['operation'], 'POST https://billing.example/v1/refunds');
    assert.deepEqual(summary['rules'], ['refunds-need-approval']);
    assert.equal(summary['justification'], 'customer was charged twice');
    assert.equal(summary['link'], `https://gw.example/console#/approvals/${ticket.id}`);
    assert.equal(summary['args'], undefined);
    assert.match(String(summary['text']), /agent-1 wants to call billing_refund/);
  } finally {
    await queue.close();
    await server.close();
  }
});

test('a refusing webhook is logged (host only) and does not fail the request', async () => {
  const server = await startServer((_req, res) => res.writeHead(500).end('boom'));
  const { logger, lines } = captureLogs();
  const notifier = createWebhookNotifier({ url: server.url, logger });
  const queue = createMemoryApprovalQueue({ onCreated: (ticket) => notifier.notify(ticket) });
  try {
    const ticket = await queue.request(elevationRequest());
    await notifier.close();
    assert.equal(server.received.length, 1);
    assert.equal((await queue.get(ticket.id))?.status, 'pending');
    const warning = lines.find((line) => line.includes('approval webhook was refused'));
    assert.ok(warning);
    assert.match(warning, /"status":500/);
    assert.doesNotMatch(lines.join(''), /T0KEN-IN-PATH/);
  } finally {
    await queue.close();
    await server.close();
  }
});

test('a webhook that never answers does not block the request and times out', async () => {
  const held: ServerResponse[] = [];
  const server = await startServer((_req, res) => void held.push(res));
  const { logger, lines } = captureLogs();
  const notifier = createWebhookNotifier({ url: server.url, logger, timeoutMs: 100 });
  const queue = createMemoryApprovalQueue({ onCreated: (ticket) => notifier.notify(ticket) });
  try {
    // The request resolves while the webhook still holds its response open.
    const ticket = await queue.request(elevationRequest());
    assert.equal(ticket.status, 'pending');
    await notifier.close();
    assert.ok(lines.some((line) => line.includes('approval webhook failed') && line.includes('"reason":"timeout"')));
    assert.doesNotMatch(lines.join(''), /T0KEN-IN-PATH/);
  } finally {
    await queue.close();
    await server.close();
  }
});

test('an unreachable webhook is logged and dropped', async () => {
  const server = await startServer((_req, res) => res.end());
  const url = server.url;
  await server.close();
  const { logger, lines } = captureLogs();
  const notifier = createWebhookNotifier({ url, logger, timeoutMs: 1000 });
  notifier.notify({
    ...elevationRequest(),
    id: 'x-1',
    status: 'pending',
    createdAt: new Date().toISOString(),
    expiresAt: new Date().toISOString(),
    decisions: [],
  });
  await notifier.close();
  assert.ok(lines.some((line) => line.includes('approval webhook failed') && line.includes('"reason":"unreachable"')));
});

test('only http(s) webhook URLs are accepted', () => {
  assert.throws(() => createWebhookNotifier({ url: 'file:///etc/passwd' }), TypeError);
});
