/**
 * Resources and prompts under policy, through a real gateway in front of a recording upstream MCP server
 * (Streamable HTTP on port 0). Rules match canonical resource URIs and exposed prompt names; default deny;
 * a denied item looks exactly like an unknown one and nothing reaches the upstream; listings and
 * `resources/updated` notifications are filtered by the same rules; a shadow policy is evaluated (and
 * audited, never enforced) on reads, subscriptions, prompt gets and completions.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { McpError, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startUpstreamHttp } from './fixtures/mcp-upstream-http.js';
import { readAudit, startTestGateway, type TestGateway } from './helpers/gateway.js';

describe('resources and prompts under policy', () => {
  let upstream: Awaited<ReturnType<typeof startUpstreamHttp>>;
  let gw: TestGateway;

  before(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'portcullis-items-'));
    const policyFile = path.join(dir, 'policy.yaml');
    await writeFile(
      policyFile,
      'version: 1\nname: items\nrules:\n  - id: no-greeting\n    effect: deny\n    principal: { agents: [everything] }\n    prompts: [up_greet]\n',
    );
    // The next version of the policy would deny the `items` agent what it is allowed today.
    const shadowFile = path.join(dir, 'next.yaml');
    await writeFile(
      shadowFile,
      [
        'version: 1',
        'name: next',
        'rules:',
        '  - id: next-no-items',
        '    effect: deny',
        '    principal: { agents: [items] }',
        "    resources: ['fixture://items/*']",
        '  - id: next-ask-greeting',
        '    effect: approve',
        '    principal: { agents: [items] }',
        '    prompts: [up_greet]',
        '',
      ].join('\n'),
    );
    upstream = await startUpstreamHttp();
    gw = await startTestGateway(
      {
        connectors: [{ id: 'up', kind: 'mcp', transport: 'http', url: upstream.url }],
        egress: { connectors: { up: { allowPrivate: ['127.0.0.1/32'] } } },
        policy: { files: [policyFile], shadow: [shadowFile], watch: false },
      },
      [
        // Allowed every tool of the upstream, but no resource or prompt: tools grant nothing else.
        { id: 'tools-only', tools: ['up_*'] },
        {
          id: 'items',
          tools: ['up_echo', 'up_touch_resource'],
          resources: ['fixture://items/*'],
          prompts: ['up_greet'],
        },
        { id: 'everything', tools: ['up_*'], resources: ['fixture://**'], prompts: ['up_*'] },
      ],
    );
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  const reads = () => upstream.events.filter((e) => e.kind === 'read' || e.kind === 'prompt' || e.kind === 'subscribe');

  async function refusal(promise: Promise<unknown>): Promise<McpError> {
    const error = await promise.then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof McpError, String(error));
    return error;
  }

  it('default deny: an agent allowed every tool sees and reads no resource or prompt', async () => {
    const client = await gw.connect('tools-only');
    assert.deepEqual((await client.listResources()).resources, []);
    assert.deepEqual((await client.listResourceTemplates()).resourceTemplates, []);
    assert.deepEqual((await client.listPrompts()).prompts, []);
    const before = reads().length;
    const denied = await refusal(client.readResource({ uri: 'fixture://static/readme' }));
    const unknown = await refusal(client.readResource({ uri: 'fixture://static/nothing-here' }));
    assert.equal(denied.code, unknown.code, 'a hidden resource looks exactly like an unknown one');
    assert.equal((denied.data as { code?: string }).code, 'RESOURCE_NOT_FOUND');
    assert.equal((unknown.data as { code?: string }).code, 'RESOURCE_NOT_FOUND');
    const prompt = await refusal(client.getPrompt({ name: 'up_greet', arguments: { name: 'x' } }));
    assert.equal((prompt.data as { code?: string }).code, 'PROMPT_NOT_FOUND');
    await refusal(client.subscribeResource({ uri: 'fixture://static/readme' }));
    assert.deepEqual(
      (
        await client.complete({
          ref: { type: 'ref/prompt', name: 'up_greet' },
          argument: { name: 'name', value: 'al' },
        })
      ).completion.values,
      [],
    );
    assert.equal(reads().length, before, 'nothing reached the upstream');
  });

  it('allows exactly the matching items, and lists only those', async () => {
    const client = await gw.connect('items');
    assert.deepEqual((await client.listResources()).resources, [], 'fixture://static/readme is not under items/');
    assert.deepEqual(
      (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate),
      ['fixture://items/{id}'],
      'a template is listed when the rules match its URI',
    );
    assert.deepEqual(
      (await client.listPrompts()).prompts.map((p) => p.name),
      ['up_greet'],
    );
    const read = await client.readResource({ uri: 'fixture://items/42' });
    assert.match(JSON.stringify(read.contents), /item 42/);
    const got = await client.getPrompt({ name: 'up_greet', arguments: { name: 'ada' } });
    assert.match(JSON.stringify(got.messages), /Hello, ada!/);
    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'up_greet' },
      argument: { name: 'name', value: 'al' },
    });
    assert.deepEqual(completion.completion.values, ['alice', 'albert']);
  });

  it('matches only canonical URIs: no spelling of a denied resource gets through', async () => {
    const client = await gw.connect('items');
    const before = reads().length;
    const variants = [
      'fixture://static/readme',
      'fixture://items/../static/readme',
      'fixture://items/%2e%2e/static/readme',
      'fixture://items/.%2E/static/readme',
      'FIXTURE://items/../static/readme',
      'fixture://items/42%2F..%2F..%2Fstatic%2Freadme',
      'fixture://items/42\\..\\..\\static\\readme',
      'fixture://user@items/42',
      'fixture://items/%zz',
    ];
    for (const uri of variants) {
      const error = await refusal(client.readResource({ uri }));
      assert.equal((error.data as { code?: string }).code, 'RESOURCE_NOT_FOUND', uri);
    }
    assert.equal(reads().length, before, 'nothing reached the upstream');
    // Equivalent spellings of an allowed resource are allowed, and the upstream gets the canonical URI.
    const read = await client.readResource({ uri: 'FIXTURE://ITEMS/./%34%32' });
    assert.match(JSON.stringify(read.contents), /item 42/);
    assert.equal(reads().at(-1)?.name, 'fixture://items/42');
  });

  it('a deny rule wins over an allow, hides the item, and the audit log names the rule', async () => {
    const client = await gw.connect('everything');
    assert.ok((await client.listResources()).resources.some((r) => r.uri === 'fixture://static/readme'));
    const read = await client.readResource({ uri: 'fixture://static/readme' });
    assert.match(JSON.stringify(read.contents), /fixture readme/);
    assert.deepEqual(
      (await client.listPrompts()).prompts.map((p) => p.name),
      [],
      'the deny rule on up_greet hides it',
    );
    const before = reads().length;
    const denied = await refusal(client.getPrompt({ name: 'up_greet', arguments: { name: 'x' } }));
    assert.equal((denied.data as { code?: string }).code, 'PROMPT_NOT_FOUND');
    assert.equal(reads().length, before);
    const records = (await readFile(gw.auditFile, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const promptRecord = records.filter((r) => r['event'] === 'prompt.get').at(-1);
    assert.equal(promptRecord?.['decision'], 'deny');
    assert.deepEqual(promptRecord?.['rules'], ['no-greeting']);
    const readRecords = records.filter((r) => r['event'] === 'resource.read' && r['agentId'] === 'everything');
    assert.ok(readRecords.some((r) => r['decision'] === 'allow'));
    assert.ok(
      records.some((r) => r['event'] === 'call.intent' && r['operation'] === 'resources/read fixture://static/readme'),
    );
  });

  it('filters resources/updated notifications by the same rules', async () => {
    const watcher = await gw.connect('items');
    const everything = await gw.connect('everything');
    const heard = { watcher: [] as string[], everything: [] as string[] };
    const listen = (client: Client, into: string[]) =>
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void into.push(n.params.uri));
    listen(watcher, heard.watcher);
    listen(everything, heard.everything);
    await everything.subscribeResource({ uri: 'fixture://static/readme' });
    await watcher.subscribeResource({ uri: 'fixture://items/7' });
    await refusal(watcher.subscribeResource({ uri: 'fixture://static/readme' }));
    await everything.callTool({ name: 'up_touch_resource', arguments: { uri: 'fixture://static/readme' } });
    await watcher.callTool({ name: 'up_touch_resource', arguments: { uri: 'fixture://items/7' } });
    for (let i = 0; i < 50 && (heard.everything.length === 0 || heard.watcher.length === 0); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(heard.everything, ['fixture://static/readme']);
    assert.deepEqual(heard.watcher, ['fixture://items/7']);
  });

  it('a shadow policy is evaluated on reads, subscriptions, prompt gets and completions, never enforced', async () => {
    const client = await gw.connect('items');
    const auditLength = (await readAudit(gw.auditFile)).length;
    // Listings are not decisions on a request: they report nothing to shadow mode.
    await client.listResourceTemplates();
    await client.listPrompts();
    assert.deepEqual(
      (await readAudit(gw.auditFile)).slice(auditLength).filter((r) => r['event'] === 'policy.shadow'),
      [],
    );
    const before = reads().length;
    assert.match(JSON.stringify((await client.readResource({ uri: 'fixture://items/5' })).contents), /item 5/);
    await client.subscribeResource({ uri: 'fixture://items/5' });
    assert.match(
      JSON.stringify((await client.getPrompt({ name: 'up_greet', arguments: { name: 'ada' } })).messages),
      /Hello, ada!/,
    );
    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'up_greet' },
      argument: { name: 'name', value: 'al' },
    });
    assert.deepEqual(completion.completion.values, ['alice', 'albert'], 'the enforced policy decided');
    assert.equal(reads().length, before + 3, 'read, subscription and prompt reached the upstream');

    const shadow = (await readAudit(gw.auditFile))
      .slice(auditLength)
      .filter((r) => r['event'] === 'policy.shadow')
      .map((r) => [r['agentId'], r['tool'], r['decision'], r['detail']]);
    assert.deepEqual(shadow, [
      ['items', 'resource:fixture://items/5', 'deny', shadowDetail('resource', 'deny', 'next-no-items')],
      ['items', 'resource:fixture://items/5', 'deny', shadowDetail('resource', 'deny', 'next-no-items')],
      ['items', 'prompt:up_greet', 'approve', shadowDetail('prompt', 'approve', 'next-ask-greeting')],
      ['items', 'prompt:up_greet', 'approve', shadowDetail('prompt', 'approve', 'next-ask-greeting')],
    ]);
  });
});

function shadowDetail(kind: string, wouldBe: string, rule: string): Record<string, unknown> {
  return { kind, enforced: 'allow', wouldBe, rules: [rule] };
}
