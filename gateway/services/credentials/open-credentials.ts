/**
 * The gateway's signing keys and its call-credential issuer, from the configuration: the configured key
 * (plus retiring previous keys, for overlap) or, without one, a development key set on disk.
 */
import type { Environment, GatewayConfig } from '../../config/index.js';
import { resolveSecretRef } from '../../config/index.js';
import { createCredentialIssuer, type CredentialIssuer } from './issuer.js';
import { loadKeySet, openDevKeySet, type KeySet } from './keys.js';

export async function openCredentials(
  config: GatewayConfig['credentials'],
  options: { issuerUrl: string; env: Environment; baseDir: string },
): Promise<{ keys: KeySet; issuer: CredentialIssuer }> {
  const secrets = { env: options.env, baseDir: options.baseDir };
  const keys =
    config.signingKey !== undefined
      ? await loadKeySet({
          active: await resolveSecretRef(config.signingKey, secrets),
          previous: await Promise.all(
            config.previousKeys.map(async (k) => ({
              material: await resolveSecretRef(k.key, secrets),
              retiresAt: Date.parse(k.retiresAt),
            })),
          ),
          alg: config.algorithm,
        })
      : await openDevKeySet({ dir: config.devKeyDir, alg: config.algorithm });
  const issuer = createCredentialIssuer({
    issuer: options.issuerUrl,
    keys,
    callTtlSeconds: config.callTtlSeconds,
    elevatedTtlSeconds: config.elevatedTtlSeconds,
  });
  return { keys, issuer };
}
