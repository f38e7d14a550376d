import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from './helpers/eventually.js';
import { INITIALIZE, rawPost, startTestGateway, type TestGateway } from './helpers/gateway.js';

/**
 * An initialize the session transport refuses (here: an Accept header without text/event-stream, answered
 * 406) never opens its session. Whatever the gateway set up for it must not outlive the request: its
 * server's subscription to catalog changes, and its implicit task.
 */
describe('an initialize that does not open a session', () => {
  let gw: TestGateway;
  let liveSubscriptions = 0;

  before(async () => {
    gw = await startTestGateway({}, [{ id: 'agent' }]);
    // Count the sessions' subscriptions to catalog changes (each session's server takes one, and gives it
    // back when it closes).
    const catalog = gw.gateway.pipeline.catalog;
    const onChange = catalog.onChange.bind(catalog);
    catalog.onChange = (listener) => {
      liveSubscriptions++;
      const unsubscribe = onChange(listener);
      return () => {
        liveSubscriptions--;
        unsubscribe();
      };
    };
  });
  after(async () => {
    await gw?.close();
  });

  it('leaves no subscription and no live task behind', async () => {
    const auth = { authorization: `Bearer ${gw.agents['agent']!.key}` };
    const liveTasks = async (): Promise<number> =>
      (await gw.gateway.stores.tasks.list()).filter((task) => task.endedAt === undefined).length;
    const tasksBefore = await liveTasks();
    for (let i = 0; i < 20; i++) {
      const refused = await rawPost(gw.gateway.mcpUrl, INITIALIZE, { ...auth, accept: 'application/json' });
      assert.equal(refused.status, 406);
      await refused.body?.cancel();
    }
    // The refusal is answered first; what was set up for the session is taken down right after.
    await eventually(() => liveSubscriptions === 0, 'every refused session to give its subscription back', 5_000);
    await eventually(async () => (await liveTasks()) === tasksBefore, 'every refused session to end its task', 5_000);

    // A session that does open keeps both until it closes.
    const opened = await rawPost(gw.gateway.mcpUrl, INITIALIZE, auth);
    assert.equal(opened.status, 200);
    await opened.body?.cancel();
    assert.equal(liveSubscriptions, 1);
    assert.equal(await liveTasks(), tasksBefore + 1);
    const closed = await fetch(gw.gateway.mcpUrl, {
      method: 'DELETE',
      headers: { ...auth, 'mcp-session-id': opened.headers.get('mcp-session-id') ?? '' },
    });
    assert.equal(closed.status, 200);
    await eventually(() => liveSubscriptions === 0, 'the closed session to give its subscription back', 5_000);
  });
});
