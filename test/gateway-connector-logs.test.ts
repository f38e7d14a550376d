/**
 * What an upstream logs while none of its calls runs (connector-level logs) reaches the 2025 sessions that
 * asked for logs with `logging/setLevel` and can see that connector, at or above their level; sessions that
 * never set a level, and agents that see nothing of the connector, hear nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startUpstreamHttp, type UpstreamHttp } from './fixtures/mcp-upstream-http.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

type Client = Awaited<ReturnType<TestGateway['connect']>>;

function collectLogs(client: Client): unknown[] {
  const seen: unknown[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    seen.push(notification.params.data);
  });
  return seen;
}

async function waitFor(condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('gateway: connector-level upstream logs', () => {
  let upstream: UpstreamHttp;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstreamHttp();
    gw = await startTestGateway(
      {
        connectors: [{ id: 'up', kind: 'mcp', transport: 'http', url: upstream.url }],
        egress: { connectors: { up: { allowPrivate: ['127.0.0.1/32'] } } },
      },
      [
        { id: 'listener', tools: ['up_*'] },
        { id: 'quiet', tools: ['up_*'] },
        { id: 'stranger', tools: ['nothing_*'] },
      ],
    );
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('reach the sessions that set a log level and see the connector, and no others', async () => {
    const listener = await gw.connect('listener');
    const quiet = await gw.connect('quiet');
    const stranger = await gw.connect('stranger');
    const heard = collectLogs(listener);
    const quietHeard = collectLogs(quiet);
    const strangerHeard = collectLogs(stranger);
    await listener.setLoggingLevel('info');
    await stranger.setLoggingLevel('debug');

    const messages = ['first', 'second', 'third'];
    const result = await quiet.callTool({ name: 'up_log_later', arguments: { messages, ms: 50 } });
    assert.notEqual(result.isError, true);
    await waitFor(() => heard.length === messages.length, 5000);
    assert.deepEqual(heard, messages);
    // Give any stray delivery the same time again before asserting silence.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(quietHeard, [], 'a session that never set a level hears nothing');
    assert.deepEqual(strangerHeard, [], 'an agent that sees nothing of the connector hears nothing');
    await Promise.all([listener.close(), quiet.close(), stranger.close()]);
  });

  it('are filtered by the level the session set', async () => {
    const listener = await gw.connect('listener');
    const heard = collectLogs(listener);
    await listener.setLoggingLevel('error');
    await listener.callTool({ name: 'up_log_later', arguments: { messages: ['info-level'], ms: 20 } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(heard, [], 'an info message is below a session level of error');
    await listener.close();
  });
});
