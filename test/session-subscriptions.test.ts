import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startUpstreamHttp, type UpstreamHttp } from './fixtures/mcp-upstream-http.js';
import { eventually } from './helpers/eventually.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

/**
 * Sessions share one upstream subscription per resource. Each session holds it once, however often it
 * subscribes; the hold ends with an unsubscribe or with the session, and the upstream subscription ends
 * when no session holds it. A session cannot end another session's hold.
 */
describe('resource subscriptions of 2025 sessions', () => {
  let upstream: UpstreamHttp;
  let gw: TestGateway;
  const uri = 'fixture://items/3';
  const upstreamCount = (kind: 'subscribe' | 'unsubscribe'): number =>
    upstream.events.filter((event) => event.kind === kind && event.name === uri).length;

  before(async () => {
    upstream = await startUpstreamHttp();
    gw = await startTestGateway(
      {
        connectors: [{ id: 'up', kind: 'mcp', transport: 'http', url: upstream.url }],
        egress: { connectors: { up: { allowPrivate: ['127.0.0.1/32'] } } },
      },
      [{ id: 'items', resources: ['fixture://items/*'] }],
    );
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  async function endSession(client: Client): Promise<void> {
    await (client.transport as StreamableHTTPClientTransport).terminateSession();
    await client.close();
  }

  it('releases the upstream subscription when the last session holding it ends', async () => {
    const first = await gw.connect('items');
    const second = await gw.connect('items');
    await first.subscribeResource({ uri });
    await first.subscribeResource({ uri });
    await second.subscribeResource({ uri });
    assert.equal(upstreamCount('subscribe'), 1, 'one upstream subscription for every session');

    // Unsubscribing what it does not hold changes nothing for the sessions that do.
    const bystander = await gw.connect('items');
    await bystander.unsubscribeResource({ uri });
    await endSession(bystander);

    await endSession(first);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(upstreamCount('unsubscribe'), 0, 'still held by the second session');

    await endSession(second);
    await eventually(() => upstreamCount('unsubscribe') === 1, 'the upstream subscription to be released', 5_000);
  });
});
