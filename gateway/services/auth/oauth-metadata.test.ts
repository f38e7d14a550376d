import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { protectedResourceMetadata, resourceMetadataUrl, wwwAuthenticate } from './oauth-metadata.js';
import { AuthError } from '../../kernel/principal.js';

const config = {
  resource: 'https://gw.example/mcp',
  authorizationServers: ['https://idp.example'],
  scopesSupported: ['mcp:tools'],
};

describe('OAuth protected resource metadata', () => {
  it('builds the RFC 9728 document', () => {
    assert.deepEqual(protectedResourceMetadata(config), {
      resource: 'https://gw.example/mcp',
      authorization_servers: ['https://idp.example'],
      bearer_methods_supported: ['header'],
      scopes_supported: ['mcp:tools'],
    });
  });

  it('places the metadata URL per RFC 9728', () => {
    assert.equal(
      resourceMetadataUrl('https://gw.example/mcp'),
      'https://gw.example/.well-known/oauth-protected-resource/mcp',
    );
    assert.equal(resourceMetadataUrl('https://gw.example'), 'https://gw.example/.well-known/oauth-protected-resource');
  });

  it('builds WWW-Authenticate challenges with escaped values', () => {
    assert.equal(
      wwwAuthenticate(config),
      'Bearer resource_metadata="https://gw.example/.well-known/oauth-protected-resource/mcp"',
    );
    assert.equal(
      wwwAuthenticate(config, new AuthError('UNAUTHENTICATED', 'bad "token"', 'invalid_token')),
      'Bearer resource_metadata="https://gw.example/.well-known/oauth-protected-resource/mcp", error="invalid_token", error_description="bad \\"token\\""',
    );
    assert.match(
      wwwAuthenticate(config, new AuthError('INSUFFICIENT_SCOPE', 'more scope', 'insufficient_scope')),
      /error="insufficient_scope".*scope="mcp:tools"/,
    );
    assert.match(wwwAuthenticate(config, { error: 'invalid_request' }), /error="invalid_request"$/);
  });
});
