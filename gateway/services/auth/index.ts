/** Authenticating agents and operators: API keys, task tokens, OAuth, SPIFFE. */
export { type ApiKeyAgent, digestApiKey, generateApiKey } from './api-key-authenticator.js';
export { createRequestAuthenticator, extractBearer, type RequestAuthenticator } from './authenticate.js';
export { protectedResourceMetadata, resourceMetadataUrl, wwwAuthenticate } from './oauth-metadata.js';
export { buildAuthenticators } from './setup.js';
export { credentialForScheme } from './authorization-header.js';
export { apiKeyAgentsFrom, keyDigests, operatorsFrom } from './configured-keys.js';
