import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { gatewayConfigJsonSchema } from './json-schema.js';

describe('configuration JSON Schema', () => {
  it('the committed schema for editors matches the configuration schema (regenerate: portcullis config schema > gateway/config/portcullis.schema.json)', async () => {
    const committed = JSON.parse(
      await readFile(new URL('./portcullis.schema.json', import.meta.url), 'utf8'),
    ) as unknown;
    assert.deepEqual(committed, JSON.parse(JSON.stringify(gatewayConfigJsonSchema())));
  });

  it('rejects unknown top-level keys, like the loader does', () => {
    const schema = gatewayConfigJsonSchema() as {
      additionalProperties?: unknown;
      properties?: Record<string, unknown>;
    };
    assert.equal(schema.additionalProperties, false);
    assert.ok(schema.properties?.['connectors'] !== undefined);
  });
});
