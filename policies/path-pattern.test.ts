import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { callFactsFromInput, compilePolicy, parsePolicyObject } from './index.js';
import { compilePathPattern, isCanonicalPath, PathPatternError } from './path-pattern.js';

/** The connectors' canonical encoding of one decoded segment. */
function encodeSegment(decoded: string): string {
  return encodeURIComponent(decoded).replace(/%3A/g, ':').replace(/%40/g, '@');
}

describe('compilePathPattern', () => {
  it('captures named segments, decoded', () => {
    const p = compilePathPattern('/repos/{owner}/{repo}/issues/{n}');
    assert.deepEqual(p.match('/repos/acme/my%20app/issues/7')?.params, { owner: 'acme', repo: 'my app', n: '7' });
    assert.equal(p.match('/repos/acme/app/issues'), undefined);
    assert.equal(p.match('/repos/acme/app/issues/7/comments'), undefined);
  });
  it('rejects malformed patterns', () => {
    for (const bad of [
      'tickets',
      '/a//b',
      '/a/../b',
      '/a/{x',
      '/a/{x}/{x}',
      '/a/**b',
      '/a?x=1',
      '/a/%2e',
      '/a/%2F',
      '/a/{bad-name}',
    ]) {
      assert.throws(() => compilePathPattern(bad), PathPatternError, bad);
    }
  });
  it('recognises canonical paths', () => {
    for (const good of ['/', '/a', '/a/', '/a/b%20c', '/a/caf%C3%A9', '/a/b:c@d', "/a/!*'()~-._", '/a/%25'])
      assert.equal(isCanonicalPath(good), true, good);
    for (const bad of [
      '',
      'a',
      '//',
      '/a//b',
      '/./a',
      '/a/.',
      '/a/..',
      '/a/%2e',
      '/a/%2E',
      '/a/%2f',
      '/a/%2F',
      '/a/%5C',
      '/a\\b',
      '/a/%zz',
      '/a/%c3%a9',
      '/a/%41',
      '/a/%3A',
      '/a/%2541',
      '/a/%00',
      '/a/%C3',
      '/a b',
      '/a/é',
      '/a?x',
      '/a#x',
    ]) {
      assert.equal(isCanonicalPath(bad), false, bad);
    }
  });
});

// A denied area behind a broad allow: only the deny rule stands between a variant and an allow.
const engine = compilePolicy([
  parsePolicyObject(
    {
      version: 1,
      name: 'paths',
      rules: [
        { id: 'allow-all', effect: 'allow', tools: ['api_*'], http: { paths: ['/**'] } },
        { id: 'deny-admin', effect: 'deny', tools: ['api_*'], http: { paths: ['/admin/**', '/users/{id}/keys'] } },
      ],
    },
    'paths.yaml',
  ),
]);
const decide = (path: string) =>
  engine.evaluate(callFactsFromInput({ principal: { agentId: 'a' }, tool: 'api_get', http: { method: 'GET', path } }));

const segmentText = fc
  .string({
    unit: fc.constantFrom('a', 'b', 'Z', '0', '-', '.', '_', '~', ' ', 'é', '%', ':', '@', '!'),
    minLength: 1,
    maxLength: 6,
  })
  .filter((s) => s !== '.' && s !== '..' && !/%[0-9A-Fa-f]{2}/.test(s)); // what connectors accept as a segment

/** Ways a server or proxy might still read a path as the original: each keeps the meaning, not the form. */
const variant = fc.constantFrom(
  (p: string) => p.replace('/', '//'),
  (p: string) => p.replace('/admin', '/./admin'),
  (p: string) => p.replace('/admin', '/x/../admin'),
  (p: string) => p.replace('/admin', '/admin/.'),
  (p: string) => p.replace('/admin', '/%61dmin'),
  (p: string) => p.replace('/admin', '/%2e/admin'),
  (p: string) => p.replace('/admin', '/%2E%2E/admin'),
  (p: string) => p.replace('/admin/', '/admin%2F'),
  (p: string) => p.replace('/admin/', '/admin%2f'),
  (p: string) => p.replace('/admin/', '/admin%5C'),
  (p: string) => p.replace('/admin/', '/admin\\'),
  (p: string) => p.replace('/admin', '/adm%69n'),
  (p: string) => `${p}/.`,
  (p: string) => `${p}/..`,
  (p: string) => p.replace(/%([0-9A-F]{2})/, (_m, hex: string) => `%${hex.toLowerCase()}`),
  (p: string) => p.replace(/%([0-9A-F]{2})/, '%25$1'),
);

describe('no path variant of a denied path is allowed', () => {
  it('canonical denied paths are denied by the rule', () => {
    fc.assert(
      fc.property(fc.array(segmentText, { minLength: 1, maxLength: 4 }), (segments) => {
        const path = `/admin/${segments.map(encodeSegment).join('/')}`;
        assert.equal(isCanonicalPath(path), true);
        const decision = decide(path);
        assert.equal(decision.effect, 'deny');
        assert.deepEqual(decision.rules, ['deny-admin']);
      }),
    );
  });

  it('encoded, doubled, dotted and re-escaped variants are never allowed', () => {
    fc.assert(
      fc.property(
        fc.array(segmentText, { minLength: 1, maxLength: 4 }),
        fc.array(variant, { minLength: 1, maxLength: 3 }),
        (segments, variants) => {
          let path = `/admin/${segments.map(encodeSegment).join('/')}`;
          for (const apply of variants) path = apply(path);
          assert.notEqual(decide(path).effect, 'allow', path);
        },
      ),
    );
  });

  it('non-canonical input never matches an allow rule, and always matches a deny rule with paths', () => {
    const junk = fc.constantFrom(
      '//',
      '/./',
      '/../',
      '%2e',
      '%2E',
      '%2f',
      '%5c',
      '\\',
      '%zz',
      '%c3%a9',
      '%00',
      '%2541',
    );
    fc.assert(
      fc.property(fc.array(segmentText, { maxLength: 3 }), junk, fc.nat(3), (segments, bad, at) => {
        const parts = segments.map(encodeSegment);
        parts.splice(Math.min(at, parts.length), 0, bad);
        const path = `/${parts.join('/')}`;
        fc.pre(!isCanonicalPath(path));
        const decision = decide(path);
        assert.equal(decision.effect, 'deny', path);
        assert.deepEqual(decision.rules, ['deny-admin']);
      }),
    );
  });

  it('canonical paths outside the denied area are allowed', () => {
    fc.assert(
      fc.property(fc.array(segmentText, { minLength: 1, maxLength: 4 }), (segments) => {
        fc.pre(segments[0] !== 'admin' && segments[0] !== 'users');
        const path = `/${segments.map(encodeSegment).join('/')}`;
        assert.equal(decide(path).effect, 'allow', path);
      }),
    );
  });
});
