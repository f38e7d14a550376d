/**
 * OAuth protected resource metadata (RFC 9728) and `WWW-Authenticate` challenges (RFC 6750 + RFC 9728
 * `resource_metadata`), so MCP clients can discover which authorization server issues tokens for the
 * gateway.
 */
import { AuthError } from '../../kernel/index.js';

export interface ProtectedResourceConfig {
  /** This gateway's resource identifier (its public MCP URL), the `aud` tokens must carry. */
  resource: string;
  /** Issuer identifiers of the authorization servers trusted for this resource. */
  authorizationServers: readonly string[];
  scopesSupported?: readonly string[];
  resourceName?: string;
  resourceDocumentation?: string;
}

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  bearer_methods_supported: ['header'];
  scopes_supported?: string[];
  resource_name?: string;
  resource_documentation?: string;
}

export function protectedResourceMetadata(config: ProtectedResourceConfig): ProtectedResourceMetadata {
  return {
    resource: config.resource,
    authorization_servers: [...config.authorizationServers],
    bearer_methods_supported: ['header'],
    ...(config.scopesSupported !== undefined ? { scopes_supported: [...config.scopesSupported] } : {}),
    ...(config.resourceName !== undefined ? { resource_name: config.resourceName } : {}),
    ...(config.resourceDocumentation !== undefined ? { resource_documentation: config.resourceDocumentation } : {}),
  };
}

/**
 * Where the metadata document lives (RFC 9728 section 3.1): `/.well-known/oauth-protected-resource`
 * inserted between the host and the resource's path, e.g. `https://gw.example/mcp` ->
 * `https://gw.example/.well-known/oauth-protected-resource/mcp`.
 */
export function resourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}

export type BearerChallengeError =
  | AuthError
  | { error: 'invalid_request' | 'invalid_token' | 'insufficient_scope'; description?: string; scope?: string };

function quote(value: string): string {
  // Quoted-string: no control characters, escape backslash and double quote.
  const printable = [...value].map((c) => (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? ' ' : c)).join('');
  return `"${printable.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * `Bearer resource_metadata="...", error="...", error_description="..."` for a 401/403 answer. With no
 * error (no credential presented) only the metadata pointer is sent, as RFC 6750 section 3.1 asks.
 */
export function wwwAuthenticate(
  config: Pick<ProtectedResourceConfig, 'resource' | 'scopesSupported'>,
  error?: BearerChallengeError,
): string {
  const parts = [`resource_metadata=${quote(resourceMetadataUrl(config.resource))}`];
  if (error !== undefined) {
    const isAuthError = error instanceof AuthError;
    const code = isAuthError
      ? (error.bearerError ?? (error.code === 'INSUFFICIENT_SCOPE' ? 'insufficient_scope' : 'invalid_token'))
      : error.error;
    parts.push(`error=${quote(code)}`);
    const description = isAuthError ? error.message : error.description;
    if (description !== undefined) parts.push(`error_description=${quote(description)}`);
    const scope = isAuthError ? undefined : error.scope;
    if (scope !== undefined) parts.push(`scope=${quote(scope)}`);
    else if (code === 'insufficient_scope' && config.scopesSupported !== undefined)
      parts.push(`scope=${quote(config.scopesSupported.join(' '))}`);
  }
  return `Bearer ${parts.join(', ')}`;
}
