/**
 * The same bytes in another base64url spelling: the last character of an encoding whose length is not a
 * multiple of three bytes carries unused low bits, which a decoder ignores. Setting the lowest of them
 * spells the same bytes differently (a canonical encoding leaves those bits zero).
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function respellBase64url(text: string): string {
  const last = ALPHABET.indexOf(text.at(-1) ?? '');
  if (last < 0 || last % 4 !== 0 || text.length % 4 === 0)
    throw new Error('respellBase64url: not a canonical base64url encoding with unused bits in its last character');
  return `${text.slice(0, -1)}${ALPHABET[last | 1]}`;
}
