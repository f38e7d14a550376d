import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verdictProblems } from './load.js';
import { ScenarioSchema, type Scenario } from './schema.js';

const backends = ['api', 'internal'];
function scenario(
  kind: 'attack' | 'benign',
  expect: Record<string, unknown>,
  step: Record<string, unknown> = {},
): Scenario {
  return ScenarioSchema.parse({
    id: 'x/y',
    kind,
    title: 't',
    steps: [{ do: 'call', agent: 'a', tool: 'api_t', expect, ...step }],
  });
}

describe('verdict rules', () => {
  it('an attack that accepts any refusal is rejected', () => {
    const problems = verdictProblems(scenario('attack', { ok: false, backends: { api: 0, internal: 0 } }), backends);
    assert.deepEqual(problems, ['step 0: a refused call must name its code or rpcError']);
  });

  it('an attack must say what every backend received', () => {
    const problems = verdictProblems(
      scenario('attack', { ok: false, code: 'POLICY_DENIED', backends: { api: 0 } }),
      backends,
    );
    assert.deepEqual(problems, ['step 0: must say what backend internal received (0 if nothing)']);
  });

  it('atLeast is not an outcome', () => {
    const problems = verdictProblems(
      scenario('attack', { code: 'POLICY_DENIED', backends: { api: { atLeast: 0 }, internal: 0 } }),
      backends,
    );
    assert.deepEqual(problems, [
      'step 0: backend api: atLeast is not an exact outcome',
      'step 0: backend api: name the exact count',
    ]);
  });

  it('an HTTP attack names its status, and its JSON-RPC error when answered with 200', () => {
    const http = (expect: Record<string, unknown>): Scenario =>
      ScenarioSchema.parse({ id: 'x/y', kind: 'attack', title: 't', steps: [{ do: 'http', expect }] });
    assert.deepEqual(verdictProblems(http({ noResult: true, backends: { api: 0, internal: 0 } }), backends), [
      'step 0: an HTTP request must name its exact status',
    ]);
    assert.deepEqual(
      verdictProblems(http({ status: 200, noResult: true, backends: { api: 0, internal: 0 } }), backends),
      ['step 0: a JSON-RPC error answer must name its rpcError'],
    );
    assert.deepEqual(
      verdictProblems(http({ status: 401, noResult: true, backends: { api: 0, internal: 0 } }), backends),
      [],
    );
  });

  it('a benign twin names the exact request: a count alone, or a url without body, is not enough', () => {
    assert.deepEqual(verdictProblems(scenario('benign', { ok: true, backends: { api: 1, internal: 0 } }), backends), [
      'step 0: backend api: a count alone does not say what was received',
    ]);
    assert.deepEqual(
      verdictProblems(
        scenario('benign', { ok: true, backends: { api: { count: 1, url: '/u/1' }, internal: 0 } }),
        backends,
      ),
      ['step 0: backend api: a benign request names method, url and body (or tool and body)'],
    );
    const exact = { count: 1, method: 'GET', url: '/u/1', body: '' };
    assert.deepEqual(
      verdictProblems(scenario('benign', { ok: true, backends: { api: exact, internal: 0 } }), backends),
      [],
    );
  });

  it('a benign twin must get a request through to a backend: opening a session or a refusal proves nothing', () => {
    const twin = (steps: Record<string, unknown>[]) =>
      ScenarioSchema.parse({ id: 'x/b', kind: 'benign', twin: 'x/a', title: 't', steps });
    const opensSession = twin([
      {
        do: 'http',
        body: { jsonrpc: '2.0', id: 1, method: 'initialize' },
        expect: { status: 200, backends: { api: 0, internal: 0 } },
      },
    ]);
    assert.deepEqual(verdictProblems(opensSession, backends), [
      'a benign twin must succeed with a request that reaches a backend',
    ]);
    const refused = twin([
      {
        do: 'call',
        agent: 'a',
        tool: 'api_t',
        expect: { ok: false, code: 'UPSTREAM_ERROR', backends: { api: 0, internal: 0 } },
      },
    ]);
    assert.deepEqual(verdictProblems(refused, backends), [
      'a benign twin must succeed with a request that reaches a backend',
    ]);
    const exact = { count: 1, method: 'GET', url: '/u/1', body: '' };
    const reaches = twin([
      { do: 'call', agent: 'a', tool: 'api_t', expect: { ok: true, backends: { api: exact, internal: 0 } } },
    ]);
    assert.deepEqual(verdictProblems(reaches, backends), []);
  });
});
