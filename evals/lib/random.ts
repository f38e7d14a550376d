/**
 * Randomised literals: `${rand.NAME}` (a lower-case word) and `${randint.NAME}` (an integer) in scenario
 * data take fresh values each run, so the gateway cannot pass a scenario by matching fixed strings. Values
 * derive from the run's seed and the scenario id, so one seed reproduces a run exactly (EVAL_SEED=N).
 * Within one scenario the same name gives the same value, in its arguments and in its expectations alike.
 */
import { createHash, randomInt } from 'node:crypto';

export const SEED_VARIABLE = 'EVAL_SEED';

/** The seed from EVAL_SEED, or a fresh one. */
export function runSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env[SEED_VARIABLE];
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`${SEED_VARIABLE} must be a non-negative integer`);
    return seed;
  }
  return randomInt(0, 2 ** 31);
}

export type RandomLiteral = (key: string) => string | number | undefined;

/** The literal generator of one scenario: undefined for keys that are not `rand.*` / `randint.*`. */
export function scenarioRandom(seed: number, scenarioId: string): RandomLiteral {
  const bytes = (name: string): Buffer => createHash('sha256').update(`${seed}\0${scenarioId}\0${name}`).digest();
  return (key) => {
    if (key.startsWith('rand.')) {
      const digest = bytes(key);
      const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
      // A letter first, so the value is a valid name wherever names must start with one.
      let word = String.fromCharCode(97 + (digest[0]! % 26));
      for (let i = 1; i < 10; i += 1) word += alphabet[digest[i]! % alphabet.length];
      return word;
    }
    if (key.startsWith('randint.')) return 100 + (bytes(key).readUInt32BE(0) % 900_000);
    return undefined;
  };
}
