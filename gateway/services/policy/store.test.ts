import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PolicyCompileError, type CallFacts, type Decision } from '../../../policies/index.js';
import { createPolicyStore, type ReloadResult } from './store.js';

const facts: CallFacts = {
  principal: { agentId: 'bot', roles: [] },
  tool: { name: 'crm_get', connector: 'crm', local: 'get', connectorKind: 'mcp' },
  args: {},
  now: 0,
};

const policy = (effect: string, extra = ''): string =>
  `version: 1\nname: p\nrules:\n  - id: r\n    effect: ${effect}\n    tools: [crm_get]\n${extra}`;

/** Editors and deploy tools replace files: write a temp file, then rename it over the original. */
async function replaceFile(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** Reload results, and a way to wait for the first one that satisfies a predicate. */
function reloadRecorder(): {
  onReload(result: ReloadResult): void;
  waitFor(p: (r: ReloadResult) => boolean): Promise<ReloadResult>;
} {
  const waiters: { p: (r: ReloadResult) => boolean; resolve(r: ReloadResult): void }[] = [];
  return {
    onReload(result) {
      for (const w of [...waiters]) {
        if (w.p(result)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(result);
        }
      }
    },
    waitFor: (p) => new Promise((resolve) => waiters.push({ p, resolve })),
  };
}

describe('policy store', { timeout: 20_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-policy-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('hot-reloads a replaced file, keeps the last good policy on a bad one, and recovers', async () => {
    const file = path.join(dir, 'main.yaml');
    await writeFile(file, policy('allow'));
    const recorder = reloadRecorder();
    const store = await createPolicyStore({ files: [file], watch: true, debounceMs: 20, onReload: recorder.onReload });
    try {
      const v1 = store.current().version;
      assert.equal(store.current().evaluate(facts).effect, 'allow');
      assert.equal(store.status().lastError, undefined);

      // Good change: swapped.
      const swapped = recorder.waitFor((r) => r.ok && r.version !== v1);
      await replaceFile(file, policy('deny'));
      const good = await swapped;
      assert.equal(good.ok, true);
      const v2 = store.current().version;
      assert.notEqual(v2, v1);
      assert.equal(store.current().evaluate(facts).effect, 'deny');
      assert.equal(store.current().evaluate(facts).policyVersion, v2);

      // Bad change: the last good engine stays, the error names the file and the key.
      const failed = recorder.waitFor((r) => !r.ok);
      await replaceFile(file, policy('allow', '    when: "args.x +"\n'));
      const bad = await failed;
      assert.equal(bad.ok, false);
      assert.equal(store.current().version, v2);
      assert.equal(store.current().evaluate(facts).effect, 'deny');
      const status = store.status();
      assert.equal(status.version, v2);
      assert.equal(status.lastError?.file, file);
      assert.match(status.lastError?.message ?? '', /rules\.0\.when/);
      assert.ok(!Number.isNaN(Date.parse(status.lastError?.at ?? '')));

      // Fixed: swapped again, error cleared.
      const recovered = recorder.waitFor((r) => r.ok);
      await replaceFile(file, policy('approve'));
      await recovered;
      assert.equal(store.current().evaluate(facts).effect, 'approve');
      assert.equal(store.status().lastError, undefined);
    } finally {
      await store.close();
    }
  });

  it('refuses to start on an invalid policy', async () => {
    const file = path.join(dir, 'broken.yaml');
    await writeFile(file, 'version: 1\nname: b\nrules:\n  - id: a\n    effect: sometimes\n');
    await assert.rejects(
      createPolicyStore({ files: [file], watch: false }),
      (error: unknown) => error instanceof PolicyCompileError && error.file === file,
    );
    await assert.rejects(
      createPolicyStore({ files: [path.join(dir, 'missing.yaml')], watch: false }),
      PolicyCompileError,
    );
  });

  it('reloads on demand and compiles generated rules with the files', async () => {
    const file = path.join(dir, 'manual.yaml');
    await writeFile(file, policy('allow'));
    let generated: object[] = [];
    const store = await createPolicyStore({ files: [file], watch: false, extraRules: () => generated });
    try {
      const before = store.current().version;
      assert.equal((await store.reload()).ok, true);
      assert.equal(store.current().version, before);
      generated = [{ id: 'gen', effect: 'deny', tools: ['crm_*'] }];
      const result = await store.reload();
      assert.ok(result.ok && result.changed);
      assert.deepEqual(store.current().evaluate(facts).rules, ['gen']);
    } finally {
      await store.close();
    }
  });

  it('hands the documents it read at startup to onStartupDocuments, once, and not those of a reload', async () => {
    const file = path.join(dir, 'startup.yaml');
    await writeFile(file, policy('allow'));
    const seen: string[][] = [];
    const store = await createPolicyStore({
      files: [file],
      watch: false,
      onStartupDocuments: (documents) => seen.push(documents.map((d) => `${d.file}:${d.document.rules[0]?.id}`)),
    });
    try {
      assert.deepEqual(seen, [[`${file}:r`]]);
      await writeFile(file, policy('deny'));
      assert.ok((await store.reload()).ok);
      assert.equal(seen.length, 1);
    } finally {
      await store.close();
    }
  });

  it('computes shadow decisions next to the enforced ones and never enforces them', async () => {
    const enforcedFile = path.join(dir, 'enforced.yaml');
    const shadowFile = path.join(dir, 'shadow.yaml');
    await writeFile(enforcedFile, policy('allow'));
    await writeFile(shadowFile, policy('deny').replace('name: p', 'name: s'));
    const seen: { enforced: Decision; shadow: Decision; kind: string }[] = [];
    let explode = false;
    const store = await createPolicyStore({
      files: [enforcedFile],
      shadowFiles: [shadowFile],
      watch: false,
      onShadowDecision: (enforced, shadow, _facts, info) => {
        if (explode) throw new Error('listener failure');
        seen.push({ enforced, shadow, kind: info.kind });
      },
    });
    try {
      const decision = store.current().evaluate(facts);
      assert.equal(decision.effect, 'allow');
      assert.equal(seen.length, 1);
      assert.equal(seen[0]?.enforced.effect, 'allow');
      assert.equal(seen[0]?.shadow.effect, 'deny');
      assert.notEqual(seen[0]?.shadow.policyVersion, decision.policyVersion);
      assert.ok(store.status().shadow?.version);

      store.current().evaluateEgress({ connector: 'crm', scheme: 'https', host: 'x.example', port: 443 });
      assert.equal(seen[1]?.kind, 'egress');

      explode = true;
      assert.equal(store.current().evaluate(facts).effect, 'allow');

      // A broken shadow file is reported and changes nothing enforced.
      await writeFile(shadowFile, 'version: 1\nname: s\nrules: nope\n');
      const result = await store.reload();
      assert.ok(result.ok);
      assert.equal(result.shadow?.ok, false);
      assert.equal(store.status().shadow?.lastError?.file, shadowFile);
      assert.equal(store.current().evaluate(facts).effect, 'allow');
    } finally {
      await store.close();
    }
  });

  it('shadows resource and prompt decisions too, but not what listings show', async () => {
    const enforcedFile = path.join(dir, 'items-enforced.yaml');
    const shadowFile = path.join(dir, 'items-shadow.yaml');
    const items = (effect: string, name: string) =>
      `version: 1\nname: ${name}\nrules:\n  - id: docs\n    effect: ${effect}\n    resources: ['docs://**']\n` +
      `  - id: summarize\n    effect: ${effect}\n    prompts: [kb_summarize]\n`;
    await writeFile(enforcedFile, items('allow', 'p'));
    await writeFile(shadowFile, items('approve', 's'));
    const seen: { enforced: string; shadow: string; kind: string; name: string }[] = [];
    const store = await createPolicyStore({
      files: [enforcedFile],
      shadowFiles: [shadowFile],
      watch: false,
      onShadowDecision: (enforced, shadow, facts, info) =>
        void seen.push({
          enforced: enforced.effect,
          shadow: shadow.effect,
          kind: info.kind,
          name: 'name' in facts ? facts.name : '',
        }),
    });
    try {
      const principal = { agentId: 'bot', roles: [] };
      const resource = { kind: 'resource', name: 'docs://a/b', connector: 'kb', principal } as const;
      const prompt = { kind: 'prompt', name: 'kb_summarize', connector: 'kb', principal } as const;
      assert.equal(store.current().evaluateItem(resource).effect, 'allow', 'the shadow policy is never enforced');
      assert.equal(store.current().evaluateItem(prompt).effect, 'allow');
      assert.deepEqual(seen, [
        { enforced: 'allow', shadow: 'approve', kind: 'resource', name: 'docs://a/b' },
        { enforced: 'allow', shadow: 'approve', kind: 'prompt', name: 'kb_summarize' },
      ]);
      // Showing an item in a listing is not a decision on a request: nothing is reported.
      assert.equal(store.current().itemVisible(resource), true);
      assert.equal(store.current().itemVisible(prompt), true);
      assert.equal(seen.length, 2);
    } finally {
      await store.close();
    }
  });
});
