/**
 * Writes the policy JSON Schemas next to the engine (`policies/policy.schema.json` and
 * `policies/policy-tests.schema.json`), where editors and the examples' `yaml-language-server` comments
 * find them. Run after changing `policies/schema.ts`:
 *   node --import tsx gateway/policy/json-schema-file.ts
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { policyJsonSchema, policyTestsJsonSchema } from '../../../policies/index.js';

const POLICIES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../policies');

export async function writePolicyJsonSchema(dir: string = POLICIES_DIR): Promise<string[]> {
  const outputs: [string, Record<string, unknown>][] = [
    [path.join(dir, 'policy.schema.json'), policyJsonSchema()],
    [path.join(dir, 'policy-tests.schema.json'), policyTestsJsonSchema()],
  ];
  for (const [file, schema] of outputs) await writeFile(file, `${JSON.stringify(schema, null, 2)}\n`, 'utf8');
  return outputs.map(([file]) => file);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const file of await writePolicyJsonSchema()) process.stdout.write(`wrote ${file}\n`);
}
