import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicy } from './engine.js';
import { canonicalResourceUri, compileUriGlob } from './resource-uri.js';

describe('canonical resource URIs', () => {
  const same: [string, string][] = [
    ['docs://a/b', 'docs://a/b'],
    ['DOCS://Host.Example/Path', 'docs://host.example/Path'],
    ['docs://a/%62', 'docs://a/b'],
    ['docs://a/%7e%41', 'docs://a/~A'],
    ['docs://a/%c3%a9', 'docs://a/%C3%A9'],
    ['docs://a/x/../b', 'docs://a/b'],
    ['docs://a/./b/.', 'docs://a/b/'],
    ['docs://a/x/%2e%2E/b', 'docs://a/b'],
    ['docs://a/b?q=%41#f', 'docs://a/b?q=A#f'],
    ['file:///etc/../tmp/x', 'file:///tmp/x'],
    ['urn:isbn:0451450523', 'urn:isbn:0451450523'],
  ];
  for (const [input, expected] of same) {
    it(`${input} -> ${expected}`, () => assert.equal(canonicalResourceUri(input), expected));
  }

  const none = [
    '',
    'no-scheme/path',
    'docs://a/%2F..%2Fsecret',
    'docs://a/%5C..',
    'docs://a\\..\\b',
    'docs://user@a/b',
    'docs://a/%zz',
    'docs://a/%4',
    'docs://a/\u0000',
    'docs://a/%00',
  ];
  for (const input of none) {
    it(`${JSON.stringify(input)} has no canonical form`, () => assert.equal(canonicalResourceUri(input), undefined));
  }
});

describe('URI globs', () => {
  it('`*` stays in one segment, `**` crosses segments, patterns are canonicalised too', () => {
    const one = compileUriGlob('DOCS://a/*')!;
    assert.equal(one('docs://a/b'), true);
    assert.equal(one('docs://a/b/c'), false);
    const deep = compileUriGlob('docs://a/**')!;
    assert.equal(deep('docs://a/b/c'), true);
    assert.equal(deep('docs://ab'), false);
    assert.equal(compileUriGlob('**')!('anything://x/y'), true);
    assert.equal(compileUriGlob('docs://a/%zz'), undefined);
  });
});

describe('resource and prompt rules', () => {
  const engine = compilePolicy([], {
    extraRules: [
      { id: 'tools', effect: 'allow', tools: ['*'] },
      { id: 'docs', effect: 'allow', principal: { agents: ['a'] }, resources: ['docs://**'] },
      { id: 'secret', effect: 'deny', resources: ['docs://a/secret/**'] },
      { id: 'ask', effect: 'approve', prompts: ['up_admin*'] },
      { id: 'prompts', effect: 'allow', prompts: ['up_*'] },
    ],
  });
  const principal = { agentId: 'a', roles: [] };
  const decide = (kind: 'resource' | 'prompt', name: string, agentId = 'a') =>
    engine.evaluateItem({ kind, name, connector: 'up', principal: { ...principal, agentId } });

  it('default deny, and tool rules never allow a resource or prompt', () => {
    const none = compilePolicy([], { extraRules: [{ id: 'tools', effect: 'allow', tools: ['*'] }] });
    const decision = none.evaluateItem({ kind: 'resource', name: 'docs://a/b', connector: 'up', principal });
    assert.equal(decision.effect, 'deny');
    assert.deepEqual(decision.rules, []);
    assert.equal(decide('resource', 'docs://a/b', 'other').effect, 'deny');
  });

  it('deny > approve > allow, naming the deciding rules', () => {
    assert.deepEqual(
      [decide('resource', 'docs://a/b').effect, decide('resource', 'docs://a/b').rules],
      ['allow', ['docs']],
    );
    assert.deepEqual(
      [decide('resource', 'docs://a/secret/x').effect, decide('resource', 'docs://a/secret/x').rules],
      ['deny', ['secret']],
    );
    assert.equal(decide('prompt', 'up_admin_reset').effect, 'approve');
    assert.equal(decide('prompt', 'up_greet').effect, 'allow');
    assert.equal(decide('prompt', 'other_greet').effect, 'deny');
  });

  it('refuses rule shapes that mix items with call matchers, and URI patterns without a canonical form', () => {
    assert.throws(
      () => compilePolicy([], { extraRules: [{ id: 'x', effect: 'allow', tools: ['a'], resources: ['docs://**'] }] }),
      /not allowed on a resource or prompt rule/,
    );
    assert.throws(
      () => compilePolicy([], { extraRules: [{ id: 'x', effect: 'allow', resources: ['docs://a/%2F'] }] }),
      /canonical form/,
    );
  });
});
