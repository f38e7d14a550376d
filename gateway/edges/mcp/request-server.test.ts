import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import type { EgressProvider, Pipeline } from '../../pipeline/index.js';
import type { AgentScope } from './scope.js';
import { createGatewayMcpServer, RequestServer } from './server.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** A 2026-07-28 request's server for `tools/call`, and a weak reference to the scope its handlers hold. */
function requestServer(): { server: RequestServer; scope: WeakRef<AgentScope> } {
  const scope: AgentScope = {
    principal: { agentId: 'agent', roles: [], authMethod: 'api-key' } as unknown as AgentScope['principal'],
    task: () => Promise.reject(new Error('not asked in this test')),
    logLevel: () => undefined,
    connection: {
      transport: 'tcp',
      protocolName: 'http',
      networkProtocolVersion: '1.1',
      protocolVersion: '2026-07-28',
    },
  };
  const server = createGatewayMcpServer(
    scope,
    {
      pipeline: { catalog: {} } as unknown as Pipeline,
      egress: {} as unknown as EgressProvider,
      serverInfo: { name: 'portcullis', version: 'test' },
    },
    { era: 'modern', onlyMethod: 'tools/call' },
  );
  assert.ok(server instanceof RequestServer);
  return { server, scope: new WeakRef(scope) };
}

describe("a 2026-07-28 request's server", () => {
  it('keeps nothing of its request once closed, even while it is itself still reachable', async () => {
    const { server, scope } = requestServer();
    const [serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    collectGarbage();
    assert.notEqual(scope.deref(), undefined, 'while it serves, its handlers hold the scope');
    await server.close();
    for (let i = 0; i < 3 && scope.deref() !== undefined; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      collectGarbage();
    }
    assert.equal(scope.deref(), undefined, 'the closed server still holds the request scope');
    // The server itself is still here (as a dead table of a Map may keep it): it is what holds nothing.
    assert.ok(server instanceof RequestServer);
  });
});
