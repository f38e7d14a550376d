import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConnectorError } from '../errors.js';
import { buildRequestPath, canonicalizePath, joinBasePath, parsePathTemplate, PathError } from './path.js';

const isInvalidArguments = (error: unknown) => error instanceof ConnectorError && error.code === 'INVALID_ARGUMENTS';

describe('parsePathTemplate', () => {
  it('parses literals and placeholders', () => {
    const t = parsePathTemplate('/repos/{owner}/{repo}/issues');
    assert.deepEqual(t.params, ['owner', 'repo']);
    assert.equal(t.segments.length, 4);
    assert.deepEqual(parsePathTemplate('/files/{name}.json').segments[1], [
      { kind: 'param', name: 'name', reserved: false },
      { kind: 'literal', text: '.json' },
    ]);
  });

  it('parses a reserved-expansion placeholder as a whole segment', () => {
    const t = parsePathTemplate('/repos/{owner}/{repo}/contents/{+path}');
    assert.deepEqual(t.params, ['owner', 'repo', 'path']);
    assert.deepEqual(t.segments[4], [{ kind: 'param', name: 'path', reserved: true }]);
    assert.deepEqual(parsePathTemplate('/{+ref}/x').segments[0], [{ kind: 'param', name: 'ref', reserved: true }]);
  });

  for (const [template, why] of [
    ['repos/{owner}', 'no leading slash'],
    ['https://evil.example/x', 'scheme'],
    ['/x/https://evil.example', 'embedded scheme'],
    ['//evil.example/x', 'network-path reference'],
    ['/x?admin=1', 'query'],
    ['/x#frag', 'fragment'],
    ['/a/../b', 'dot-dot'],
    ['/a/./b', 'dot'],
    ['/a/%2e%2e/b', 'encoded dot-dot'],
    ['/a//b', 'empty segment'],
    ['/a\\b', 'backslash'],
    ['/a b', 'whitespace'],
    ['/a\u0000b', 'NUL'],
    ['/a/{b', 'unbalanced'],
    ['/a/b}', 'unbalanced close'],
    ['/a/{b}/{b}', 'duplicate param'],
    ['/a/{b}{c}', 'adjacent params'],
    ['/a/{}', 'empty name'],
    ['/a/{b c}', 'bad name'],
    ['/a/%2F', 'encoded slash literal'],
    ['/a/%7e', 'non-canonical literal'],
    ['/a/x{+p}', 'reserved expansion inside a segment'],
    ['/a/{+p}.json', 'reserved expansion followed by text'],
    ['/a/{+}', 'reserved expansion without a name'],
    ['/a/{++p}', 'doubled operator'],
  ]) {
    it(`rejects ${why}: ${JSON.stringify(template)}`, () => {
      assert.throws(() => parsePathTemplate(template!), PathError);
    });
  }
});

describe('buildRequestPath', () => {
  it('encodes values with encodeURIComponent', () => {
    assert.equal(
      buildRequestPath('/repos/{owner}/{repo}', { owner: 'acme corp', repo: 'web?x=1#y' }),
      '/repos/acme%20corp/web%3Fx%3D1%23y',
    );
    assert.equal(buildRequestPath('/users/{id}', { id: 42 }), '/users/42');
    assert.equal(buildRequestPath('/files/{name}.json', { name: 'ümlaut' }), '/files/%C3%BCmlaut.json');
    assert.equal(buildRequestPath('/a/{x}', { x: 'user@host:1' }), '/a/user@host:1');
  });

  for (const value of [
    '',
    '.',
    '..',
    'a/b',
    '../admin',
    'a\\b',
    '%2e%2e',
    '%2F',
    'a%00',
    'a\u0000',
    'line\nbreak',
    '\u007f',
    '\ud800',
  ]) {
    it(`refuses the value ${JSON.stringify(value)}`, () => {
      assert.throws(() => buildRequestPath('/repos/{owner}', { owner: value }), isInvalidArguments);
    });
  }

  it('refuses missing, non-integer and non-scalar values', () => {
    for (const value of [undefined, null, 1.5, true, {}, ['a'], Number.MAX_SAFE_INTEGER + 2]) {
      assert.throws(() => buildRequestPath('/users/{id}', { id: value }), isInvalidArguments, JSON.stringify(value));
    }
  });

  it('reports the parameter name, never the value', () => {
    try {
      buildRequestPath('/repos/{owner}', { owner: 'secret/../value' });
      assert.fail('expected a throw');
    } catch (error) {
      assert.ok(error instanceof ConnectorError);
      assert.deepEqual(error.details, { parameter: 'owner' });
      assert.ok(!error.message.includes('secret'));
    }
  });

  // Values an attacker would try, mixed with arbitrary Unicode strings.
  const hostile = fc.oneof(
    fc.constantFrom(
      '..',
      '.',
      '%2e%2e',
      '%2E',
      '/',
      '\\',
      '%2F',
      '%5C',
      '%252F',
      '',
      '?x=1',
      '#f',
      '@evil.example',
      '//evil.example',
      ':443',
      'a/../..',
      '\u0000',
      '..;',
      '%',
      '%%',
    ),
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.string({
      unit: fc.constantFrom('.', '/', '\\', '%', '2', 'e', 'F', '?', '#', '@', ':', 'a', ';'),
      maxLength: 10,
    }),
    fc.integer(),
  );

  it('property: no value changes the host, adds a segment or leaves the template prefix', () => {
    const templates = ['/repos/{owner}/{repo}/issues', '/files/{name}.json', '/v1/{a}', '/{a}/fixed'];
    fc.assert(
      fc.property(fc.constantFrom(...templates), hostile, hostile, (template, a, b) => {
        const parsed = parsePathTemplate(template);
        const values = Object.fromEntries(parsed.params.map((p, i) => [p, i === 0 ? a : b]));
        let path: string;
        try {
          path = buildRequestPath(parsed, values);
        } catch (error) {
          assert.ok(isInvalidArguments(error), `unexpected ${String(error)}`);
          return;
        }
        const url = new URL(`https://api.example.com${path}`);
        assert.equal(url.host, 'api.example.com');
        assert.equal(url.pathname, path, 'the URL parser sends the path unchanged');
        assert.equal(url.search, '');
        assert.equal(url.hash, '');
        const segments = path.slice(1).split('/');
        assert.equal(segments.length, parsed.segments.length);
        parsed.segments.forEach((parts, i) => {
          const only = parts.length === 1 ? parts[0] : undefined;
          if (only?.kind === 'literal') assert.equal(segments[i], only.text);
          if (only?.kind === 'param') assert.equal(decodeURIComponent(segments[i]!), String(values[only.name]));
        });
        assert.ok(path.startsWith(template.slice(0, template.indexOf('{'))));
        assert.equal(canonicalizePath(path), path);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('canonicalizePath', () => {
  const cases: [string, string][] = [
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a/b/', '/a/b/'],
    ['/a/./b', '/a/b'],
    ['/a/b/../c', '/a/c'],
    ['/a/%2e%2E/c', '/c'],
    ['/a/b/..', '/a/'],
    ['/%7e%7E', '/~~'],
    ['/a%20b', '/a%20b'],
    ['/a b', '/a%20b'],
    ['/caf\u00e9', '/caf%C3%A9'],
    ['/x%3a%40', '/x:@'],
    ['/a;b', '/a%3Bb'],
    ['/100%25', '/100%25'],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () =>
      assert.equal(canonicalizePath(input), expected));
  }

  for (const [input, why] of [
    ['relative', 'no leading slash'],
    ['/a/%2F/b', 'encoded slash'],
    ['/a%2fb', 'encoded slash (lower case)'],
    ['/a%5Cb', 'encoded backslash'],
    ['/a\\b', 'raw backslash'],
    ['/a/%252F', 'double-encoded slash'],
    ['/a/%2541', 'double encoding'],
    ['/a%00', 'encoded NUL'],
    ['/a\u0000', 'raw NUL'],
    ['/a%0D%0A', 'encoded CRLF'],
    ['/a%zz', 'malformed escape'],
    ['/a%2', 'truncated escape'],
    ['/a%FF', 'invalid UTF-8'],
    ['/..', 'climbs above root'],
    ['/a/../../b', 'climbs above root'],
    ['/a//b', 'empty segment'],
    ['/a?b', 'query'],
    ['/a#b', 'fragment'],
  ]) {
    it(`rejects ${why}: ${JSON.stringify(input)}`, () => assert.throws(() => canonicalizePath(input!), PathError));
  }

  it('property: output is idempotent, parses as the same path on a fixed host, and has no dot segments or encoded separators', () => {
    const unit = fc.constantFrom(
      '/',
      '.',
      '%',
      '2',
      'e',
      'E',
      'f',
      'F',
      '5',
      'c',
      'a',
      ' ',
      '\\',
      ';',
      '%2e',
      '%2F',
      '%25',
      '%00',
      '..',
      'é',
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit, maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 })),
        (tail) => {
          let out: string;
          try {
            out = canonicalizePath(`/${tail}`);
          } catch (error) {
            assert.ok(error instanceof PathError, `unexpected ${String(error)}`);
            return;
          }
          assert.equal(canonicalizePath(out), out);
          const url = new URL(`https://h.example${out}`);
          assert.equal(url.host, 'h.example');
          assert.equal(url.pathname, out);
          assert.ok(!/%2F|%5C|%25[0-9A-F]{2}|\\/i.test(out), out);
          assert.ok(
            !out
              .slice(1)
              .split('/')
              .some((s) => s === '.' || s === '..' || /^(%2e|\.){1,2}$/i.test(s)),
            out,
          );
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('joinBasePath', () => {
  it('joins without doubling slashes', () => {
    assert.equal(joinBasePath('/', '/x'), '/x');
    assert.equal(joinBasePath('/v1', '/x'), '/v1/x');
    assert.equal(joinBasePath('/v1/', '/x'), '/v1/x');
  });
});

describe('buildRequestPath with reserved expansion ({+name})', () => {
  const template = parsePathTemplate('/repos/{owner}/{repo}/contents/{+path}');

  it('lets the value span segments, each one encoded', () => {
    assert.equal(
      buildRequestPath(template, { owner: 'o', repo: 'r', path: 'docs/guide/intro.md' }),
      '/repos/o/r/contents/docs/guide/intro.md',
    );
    assert.equal(
      buildRequestPath(template, { owner: 'o', repo: 'r', path: 'src/a b/ü?#.ts' }),
      '/repos/o/r/contents/src/a%20b/%C3%BC%3F%23.ts',
    );
    assert.equal(buildRequestPath('/refs/{+ref}/status', { ref: 'heads/feature/x' }), '/refs/heads/feature/x/status');
    assert.equal(buildRequestPath(template, { owner: 'o', repo: 'r', path: 'README' }), '/repos/o/r/contents/README');
  });

  for (const [value, why] of [
    ['', 'empty'],
    ['/etc/passwd', 'leading slash (empty segment)'],
    ['docs/', 'trailing slash (empty segment)'],
    ['docs//x', 'doubled slash'],
    ['../secrets', 'dot-dot first'],
    ['docs/../../admin', 'dot-dot inside'],
    ['docs/..', 'dot-dot last'],
    ['./x', 'dot segment'],
    ['%2e%2e/x', 'encoded dot-dot'],
    ['docs%2F..%2Fx', 'encoded slash'],
    ['%252e%252e', 'double encoding'],
    ['docs\\..\\x', 'backslash'],
    ['docs/\u0000', 'NUL'],
    ['docs/\u0085x', 'C1 control'],
  ]) {
    it(`refuses ${why}: ${JSON.stringify(value)}`, () => {
      assert.throws(
        () => buildRequestPath(template, { owner: 'o', repo: 'r', path: value }),
        (error: unknown) => {
          assert.ok(isInvalidArguments(error));
          assert.deepEqual((error as ConnectorError).details, { parameter: 'path' });
          return true;
        },
      );
    });
  }

  it('keeps plain placeholders to one segment next to a reserved one', () => {
    assert.throws(() => buildRequestPath(template, { owner: 'o/x', repo: 'r', path: 'a' }), isInvalidArguments);
  });

  it('keeps a byte order mark where it stands, as any other character: never dropped in decoding', () => {
    assert.equal(
      buildRequestPath(template, { owner: 'o', repo: 'r', path: '\uFEFF' }),
      '/repos/o/r/contents/%EF%BB%BF',
    );
    assert.equal(
      buildRequestPath(template, { owner: '\uFEFFo', repo: 'r', path: 'a/\uFEFFb' }),
      '/repos/%EF%BB%BFo/r/contents/a/%EF%BB%BFb',
    );
    assert.equal(canonicalizePath('/a/%EF%BB%BFb/%ef%bb%bf'), '/a/%EF%BB%BFb/%EF%BB%BF');
    assert.throws(() => canonicalizePath('/a/%EF%BB%BF/../../..'), PathError);
  });

  it('property: a reserved value only adds segments under the template prefix, never dot or empty ones', () => {
    const prefix = '/repos/o/r/contents/';
    const piece = fc.oneof(
      fc.constantFrom('..', '.', '', '%2e%2e', '%2F', '\\', 'a', 'b.txt', '%', '?', '#', '@x', ':1', '\uFEFF'),
      fc.string({ unit: 'binary', maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 5 }), (pieces) => {
        const value = pieces.join('/');
        let path: string;
        try {
          path = buildRequestPath(template, { owner: 'o', repo: 'r', path: value });
        } catch (error) {
          assert.ok(isInvalidArguments(error), `unexpected ${String(error)}`);
          return;
        }
        assert.ok(path.startsWith(prefix), path);
        const url = new URL(`https://api.example.com${path}`);
        assert.equal(url.host, 'api.example.com');
        assert.equal(url.pathname, path);
        const added = path.slice(prefix.length).split('/');
        // The value's own segments (a generated piece may itself hold a "/").
        assert.deepEqual(added.map(decodeURIComponent), value.split('/'));
        for (const segment of added) assert.ok(segment !== '' && segment !== '.' && segment !== '..');
        assert.equal(canonicalizePath(path), path);
      }),
      { numRuns: 2000 },
    );
  });
});

/** Each refusal with its reason: every check says something different, so none can go missing unnoticed. */
describe('reasons given for refusals', () => {
  const pathError = (message: string) => (error: unknown) => {
    assert.ok(error instanceof PathError, String(error));
    assert.equal(error.name, 'PathError');
    assert.equal(error.code, 'INVALID_PATH');
    assert.equal(error.message, message);
    return true;
  };
  const invalidArguments = (message: string, parameter?: string) => (error: unknown) => {
    assert.ok(isInvalidArguments(error), String(error));
    assert.equal((error as ConnectorError).message, message);
    if (parameter !== undefined) assert.deepEqual((error as ConnectorError).details, { parameter });
    return true;
  };

  it('parsePathTemplate', () => {
    for (const [template, message] of [
      ['https://evil.example/x', 'a path template must not contain a scheme or host'],
      ['/x/https://evil.example', 'a path template must not contain a scheme or host'],
      ['x', 'a path template must start with "/"'],
      ['//evil.example/x', 'a path template must not start with "//" (that names a host)'],
      ['/x?a', 'a path template must not contain "?" or "#"; declare query parameters with `query`'],
      ['/x#a', 'a path template must not contain "?" or "#"; declare query parameters with `query`'],
      ['/a\\b', 'a path template must not contain "\\"'],
      ['/a//b', 'a path template must not contain an empty segment ("//")'],
      ['/a\u0001b', 'a path template must not contain whitespace or control characters'],
      ['/a b', 'a path template must not contain whitespace or control characters'],
      ['/a\u00a0b', 'a path template must not contain whitespace or control characters'],
      ['/a/.', 'a path template must not contain "." or ".." segments'],
      ['/a/..', 'a path template must not contain "." or ".." segments'],
      ['/a/%2E/b', 'a path template must not contain "." or ".." segments'],
      ['/a/.%2e/b', 'a path template must not contain "." or ".." segments'],
      ['/a/b}', 'unbalanced "}" in path template'],
      ['/a/}{b}', 'unbalanced "}" in path template'],
      ['/a/{b', 'unbalanced "}" in path template'],
      ['/a/{b{c}', 'nested "{" in path template'],
      ['/a/{}', 'invalid path parameter name ""'],
      ['/a/{1b}', 'invalid path parameter name "1b"'],
      ['/a/{+}', 'invalid path parameter name ""'],
      [`/a/{b${'c'.repeat(64)}}`, `invalid path parameter name "b${'c'.repeat(64)}"`],
      ['/a/{b}/{b}', 'path parameter "b" appears twice'],
      ['/a/{b}-{+b}', 'path parameter "b" appears twice'],
      ['/a/{b}{c}', 'two path parameters must be separated by literal text'],
      ['/a/x{+p}', 'a reserved-expansion parameter ({+name}) must be a whole path segment'],
      ['/a/{+p}.json', 'a reserved-expansion parameter ({+name}) must be a whole path segment'],
      ['/a/%2F', 'path template literal "%2F": encoded "/" in path'],
      ['/a/x{b}%zz', 'path template literal "%zz": malformed percent-encoding in path'],
      ['/a/%7e', 'path template literal "%7e" is not canonical (expected "~")'],
    ])
      assert.throws(() => parsePathTemplate(template!), pathError(message!), template);
  });

  it('parsePathTemplate accepts what is close to a refusal', () => {
    assert.deepEqual(parsePathTemplate('/a/.../b.c').segments, [
      [{ kind: 'literal', text: 'a' }],
      [{ kind: 'literal', text: '...' }],
      [{ kind: 'literal', text: 'b.c' }],
    ]);
    assert.deepEqual(parsePathTemplate('/.a/a./.x..').params, []);
    const name = `b${'c'.repeat(63)}`;
    assert.deepEqual(parsePathTemplate(`/{${name}}`).params, [name]);
    assert.deepEqual(parsePathTemplate('/{_a.b-c9}').params, ['_a.b-c9']);
    assert.deepEqual(parsePathTemplate('/{a}-{b}/{+c}').segments, [
      [
        { kind: 'param', name: 'a', reserved: false },
        { kind: 'literal', text: '-' },
        { kind: 'param', name: 'b', reserved: false },
      ],
      [{ kind: 'param', name: 'c', reserved: true }],
    ]);
    assert.deepEqual(parsePathTemplate('/x:@/{a}').segments[0], [{ kind: 'literal', text: 'x:@' }]);
    assert.equal(parsePathTemplate('/a/b').source, '/a/b');
  });

  it('buildRequestPath names the parameter and what is wrong with its value', () => {
    for (const [value, reason] of [
      ['', 'must not be empty'],
      ['.', 'must not be "." or ".."'],
      ['..', 'must not be "." or ".."'],
      ['a/b', 'must not contain "/" or "\\"'],
      ['a\\b', 'must not contain "/" or "\\"'],
      ['100%', 'must not contain "%"'],
      ['a\u0000', 'must not contain control characters'],
      ['a\u009f', 'must not contain control characters'],
      ['\ud800', 'must be well-formed Unicode'],
      ['a\ud800b', 'must be well-formed Unicode'],
      ['\udc00', 'must be well-formed Unicode'],
      ['\udc00\ud800', 'must be well-formed Unicode'],
    ])
      assert.throws(
        () => buildRequestPath('/r/{owner}', { owner: value }),
        invalidArguments(`path parameter "owner" ${reason}`, 'owner'),
        JSON.stringify(value),
      );
    assert.throws(
      () => buildRequestPath('/r/{id}', { id: 1.5 }),
      invalidArguments('path parameter "id" must be a string or an integer', 'id'),
    );
    assert.equal(buildRequestPath('/r/{owner}', { owner: '\ud83d\ude00...' }), '/r/%F0%9F%98%80...');
    assert.equal(buildRequestPath('/r/{id}', { id: -7 }), '/r/-7');
  });

  it('buildRequestPath names what is wrong with a reserved-expansion value', () => {
    for (const [value, reason] of [
      ['', 'must not be empty'],
      ['a//b', 'must not contain empty segments (a leading, trailing or doubled "/")'],
      ['/a', 'must not contain empty segments (a leading, trailing or doubled "/")'],
      ['a/', 'must not contain empty segments (a leading, trailing or doubled "/")'],
      ['a/./b', 'must not contain "." or ".." segments'],
      ['a/..', 'must not contain "." or ".." segments'],
      ['a/b\\c', 'must not contain "\\"'],
      ['a/%2e', 'must not contain "%"'],
      ['a/b\u0085', 'must not contain control characters'],
      ['a/\udc00', 'must be well-formed Unicode'],
    ])
      assert.throws(
        () => buildRequestPath('/r/{+path}', { path: value }),
        invalidArguments(`path parameter "path" ${reason}`, 'path'),
        JSON.stringify(value),
      );
  });

  it('buildRequestPath refuses a template object whose literal text is not canonical', () => {
    const template = { source: '/x', segments: [[{ kind: 'literal' as const, text: 'a%2Fb' }]], params: [] };
    assert.throws(
      () => buildRequestPath(template, {}),
      invalidArguments('the request path is not acceptable: encoded "/" in path'),
    );
  });

  it('canonicalizePath', () => {
    for (const [path, message] of [
      ['a', 'path must start with "/"'],
      ['', 'path must start with "/"'],
      ['/a?b', 'path must not contain "?" or "#"'],
      ['/a#b', 'path must not contain "?" or "#"'],
      ['/a\\b', 'backslash in path'],
      ['/a\u0001', 'control character in path'],
      ['/a%zz', 'malformed percent-encoding in path'],
      ['/a%2', 'malformed percent-encoding in path'],
      ['/a%', 'malformed percent-encoding in path'],
      ['/a%g0', 'malformed percent-encoding in path'],
      ['/a%FF', 'path is not valid UTF-8 once decoded'],
      ['/a%2Fb', 'encoded "/" in path'],
      ['/a%5cb', 'encoded "\\" in path'],
      ['/a%0a', 'encoded control character in path'],
      ['/a%C2%85', 'encoded control character in path'],
      ['/a%2541', 'double percent-encoding in path'],
      ['/a%25aF', 'double percent-encoding in path'],
      ['/a//b', 'empty segment ("//") in path'],
      ['/..', 'path climbs above the root'],
      ['/a/../..', 'path climbs above the root'],
    ])
      assert.throws(() => canonicalizePath(path!), pathError(message!), JSON.stringify(path));
    assert.throws(() => canonicalizePath(5 as unknown as string), pathError('path must start with "/"'));
  });

  it('canonicalizePath: dot segments, escapes and characters at the edges', () => {
    for (const [input, expected] of [
      ['/a/..', '/'],
      ['/.', '/'],
      ['/a/.', '/a/'],
      ['/a/%2E', '/a/'],
      ['/a/b/%2e%2e/', '/a/'],
      ['/x%3a%3A%40%40', '/x::@@'],
      ['/%25zz', '/%25zz'],
      ['/%25a', '/%25a'],
      ['/%41%6a', '/Aj'],
      ['/\ud83d\ude00', '/%F0%9F%98%80'],
      ['/a\ud83d\ude00%41', '/a%F0%9F%98%80A'],
      ['/\uffff', '/%EF%BF%BF'],
      // U+FFFF is the last one-unit character: what follows it is read on its own, escape or surrogate pair.
      ['/\uffff%41', '/%EF%BF%BFA'],
      ['/\uffff\ud83d\ude00', '/%EF%BF%BF%F0%9F%98%80'],
      ['/x/', '/x/'],
    ])
      assert.equal(canonicalizePath(input!), expected, JSON.stringify(input));
  });
});
