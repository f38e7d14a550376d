/** Revocation: the store contract for revoked credentials and disabled agents. */
export type { RevocationStore } from './types.js';
