/**
 * `portcullis config validate` checks the files a configuration refers to: OpenAPI documents, policy files
 * and (with --secrets) secret references, never printing a secret.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { configCommand } from './commands/config.js';

async function validate(
  file: string,
  flags: string[] = [],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  let code = 0;
  const command = configCommand({
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    setExitCode: (c) => void (code = c),
    env,
  });
  await command.parseAsync(['validate', ...flags, file], { from: 'user' });
  return { code, stdout, stderr };
}

const ok = { responses: { '200': { description: 'ok' } } };
const openapi = {
  openapi: '3.0.3',
  info: { title: 't', version: '1' },
  paths: {
    '/items/{id}': {
      get: {
        operationId: 'getItem',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        ...ok,
      },
    },
    '/upload': {
      post: { operationId: 'upload', requestBody: { content: { 'text/csv': { schema: { type: 'string' } } } }, ...ok },
    },
  },
};

describe('portcullis config validate', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portcullis-config-validate-'));
    await writeFile(path.join(dir, 'api.json'), JSON.stringify(openapi));
    await writeFile(path.join(dir, 'swagger.yaml'), 'swagger: "2.0"\npaths: {}\n');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function configWith(name: string, document: string): Promise<string> {
    const file = path.join(dir, `${name}.yaml`);
    await writeFile(
      file,
      stringify({
        connectors: [{ id: 'api', kind: 'http', baseUrl: 'https://api.example.com', openapi: { document } }],
      }),
    );
    return file;
  }

  it('fails when the OpenAPI document is missing', async () => {
    const result = await validate(await configWith('missing', 'nowhere.json'));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /connector api: .*cannot read OpenAPI document nowhere\.json: ENOENT/);
    assert.match(result.stderr, /missing\.yaml: invalid/);
    assert.doesNotMatch(result.stdout, /valid/);
  });

  it('fails when the document is not OpenAPI 3.x', async () => {
    const result = await validate(await configWith('swagger', 'swagger.yaml'));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /only OpenAPI 3\.0 and 3\.1 documents are supported/);
  });

  it('reports the tools imported and each skipped operation with its reason', async () => {
    const result = await validate(await configWith('good', 'api.json'));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /connector api: 1 tools, 1 OpenAPI operations or parameters skipped:/);
    assert.match(
      result.stdout,
      /POST \/upload \(upload\): skipped: request body media types \(text\/csv\) are not supported; only JSON bodies are/,
    );
    assert.match(result.stdout, /good\.yaml: valid \(1 connectors/);
  });

  async function configFile(name: string, config: Record<string, unknown>): Promise<string> {
    const file = path.join(dir, `${name}.yaml`);
    await writeFile(file, stringify(config));
    return file;
  }

  it('fails when a policy file is missing or does not compile', async () => {
    const missing = await validate(await configFile('no-policy', { policy: { files: ['nope.yaml'] } }));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.yaml.*cannot read file \(ENOENT\)/);
    assert.doesNotMatch(missing.stdout, /valid/);

    await writeFile(path.join(dir, 'bad-policy.yaml'), 'version: 1\nrules:\n  - id: x\n    effect: maybe\n');
    const bad = await validate(await configFile('bad-policy-config', { policy: { files: ['bad-policy.yaml'] } }));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad-policy\.yaml/);

    await writeFile(
      path.join(dir, 'good-policy.yaml'),
      'version: 1\nname: p\nrules:\n  - id: r\n    effect: deny\n    tools: [x_*]\n',
    );
    const good = await validate(await configFile('good-policy-config', { policy: { files: ['good-policy.yaml'] } }));
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /policy: 1 rules in 1 files/);
  });

  it('warns, as start-up does, about rules naming an agent or connector the configuration lacks', async () => {
    await writeFile(
      path.join(dir, 'typo-policy.yaml'),
      'version: 1\nname: p\nrules:\n  - id: typo\n    effect: deny\n    tools: [nope_*]\n    principal: { agents: [nobody] }\n',
    );
    const result = await validate(await configFile('typo-config', { policy: { files: ['typo-policy.yaml'] } }));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /warning: .*typo-policy\.yaml:\d+: rule typo: .*nobody/);
    assert.match(result.stderr, /warning: .*rule typo: .*nope/);
    assert.match(result.stdout, /valid/);
  });

  it('resolves secret references only with --secrets, and never prints a value', async () => {
    await writeFile(path.join(dir, 'operator-token'), 'tok-3c1d9e-not-printed');
    const config = {
      operators: [{ id: 'op', roles: ['admin'], tokens: [{ secret: 'file:operator-token' }] }],
      agents: [{ id: 'a', apiKeys: [{ secret: 'env:AGENT_KEY' }] }],
    };
    const file = await configFile('secrets', config);

    const unchecked = await validate(file);
    assert.equal(unchecked.code, 0, unchecked.stderr);
    assert.match(unchecked.stdout, /secrets: 2 references, not resolved/);

    const missing = await validate(file, ['--secrets']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /agents\.0\.apiKeys\.0\.secret: .*AGENT_KEY is not set/);

    const resolved = await validate(file, ['--secrets'], { AGENT_KEY: 'key-7f2a-not-printed' });
    assert.equal(resolved.code, 0, resolved.stderr);
    assert.match(resolved.stdout, /secrets: 2 references resolved/);
    for (const output of [unchecked, missing, resolved])
      assert.doesNotMatch(output.stdout + output.stderr, /not-printed/);
  });
});
