/**
 * The state-sealing key: the HMAC key that seals what the gateway hands to 2026-07-28 agents and takes back
 * (request states of `input_required` rounds, task handles). Every instance serving the same agents needs
 * the same key, so it comes from the configuration (`credentials.stateSealingKey`, at least 32 bytes);
 * without one, a development key is generated on first start and kept beside the development signing keys.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { resolveSecretRef, type Environment, type GatewayConfig } from '../../config/index.js';

const DEV_STATE_KEY_FILE = 'state-sealing.key';
const MIN_BYTES = 32;

export async function openStateSealingKey(
  config: GatewayConfig['credentials'],
  secrets: { env: Environment; baseDir: string },
): Promise<Uint8Array> {
  if (config.stateSealingKey !== undefined) {
    const key = Buffer.from((await resolveSecretRef(config.stateSealingKey, secrets)).reveal(), 'utf8');
    if (key.byteLength < MIN_BYTES) throw new Error(`credentials.stateSealingKey must be at least ${MIN_BYTES} bytes`);
    return key;
  }
  const file = path.join(config.devKeyDir, DEV_STATE_KEY_FILE);
  try {
    const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64url');
    if (key.byteLength >= MIN_BYTES) return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(config.devKeyDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(MIN_BYTES);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${key.toString('base64url')}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, file);
  return key;
}
