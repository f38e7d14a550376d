/** `portcullis config validate` loads and checks the OpenAPI documents a configuration names. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { configCommand } from './commands/config.js';

async function validate(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  let code = 0;
  const command = configCommand({
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    setExitCode: (c) => void (code = c),
  });
  await command.parseAsync(['validate', file], { from: 'user' });
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
});
