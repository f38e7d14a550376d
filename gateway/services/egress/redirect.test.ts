import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EgressDeniedError, EgressError } from './errors.js';
import { nextHop, type HopRequest } from './redirect.js';

function request(method: string, body: HopRequest['body'] = null, url = 'https://api.test/a/b?x=1'): HopRequest {
  const headers = new Headers({
    authorization: 'Bearer t',
    cookie: 'c=1',
    'proxy-authorization': 'Basic p',
    'content-type': 'application/json',
    'x-keep': 'yes',
  });
  return { url: new URL(url), method, headers, body };
}

describe('nextHop', () => {
  it('is undefined for a non-redirect status or a redirect without Location', () => {
    assert.equal(nextHop(request('GET'), 200, '/x'), undefined);
    assert.equal(nextHop(request('GET'), 304, '/x'), undefined);
    assert.equal(nextHop(request('GET'), 302, null), undefined);
  });

  it('resolves a relative Location against the URL that answered', () => {
    assert.equal(nextHop(request('GET'), 302, '../c')?.url.href, 'https://api.test/c');
    assert.equal(nextHop(request('GET'), 302, '//other.test/d')?.url.href, 'https://other.test/d');
  });

  const methodCases: [string, number, string, boolean][] = [
    // method, status, next method, body kept
    ['POST', 301, 'GET', false],
    ['POST', 302, 'GET', false],
    ['POST', 303, 'GET', false],
    ['PUT', 303, 'GET', false],
    ['PUT', 301, 'PUT', true],
    ['POST', 307, 'POST', true],
    ['POST', 308, 'POST', true],
    ['GET', 303, 'GET', false],
  ];
  for (const [method, status, expectedMethod, bodyKept] of methodCases) {
    it(`${method} + ${status} -> ${expectedMethod}${bodyKept ? ' with body' : ' without body'}`, () => {
      const body = method === 'GET' ? null : '{"a":1}';
      const next = nextHop(request(method, body), status, '/next');
      assert.ok(next !== undefined);
      assert.equal(next.method, expectedMethod);
      assert.equal(next.body, bodyKept ? body : null);
      assert.equal(next.headers.has('content-type'), bodyKept || method === 'GET');
    });
  }

  it('keeps credential headers on the same origin', () => {
    const next = nextHop(request('GET'), 302, '/same');
    assert.equal(next?.headers.get('authorization'), 'Bearer t');
    assert.equal(next?.headers.get('cookie'), 'c=1');
    assert.equal(next?.headers.get('proxy-authorization'), 'Basic p');
  });

  for (const location of ['https://other.test/x', 'http://api.test/x', 'https://api.test:8443/x']) {
    it(`drops credential headers when the origin changes (${location})`, () => {
      const next = nextHop(request('GET'), 302, location);
      assert.ok(next !== undefined);
      assert.equal(next.headers.has('authorization'), false);
      assert.equal(next.headers.has('cookie'), false);
      assert.equal(next.headers.has('proxy-authorization'), false);
      assert.equal(next.headers.get('x-keep'), 'yes');
    });
  }

  for (const location of [
    'file:///etc/passwd',
    'ftp://api.test/x',
    'data:text/plain,hi',
    'gopher://api.test:70/_x',
    'javascript:alert(1)',
  ]) {
    it(`refuses to follow ${location.split(':')[0]}: redirects`, () => {
      assert.throws(() => nextHop(request('GET'), 302, location), EgressDeniedError);
    });
  }

  it('refuses another scheme as an egress denial that names the scheme and the reason', () => {
    assert.throws(
      () => nextHop(request('GET'), 302, 'file:///etc/passwd'),
      (error: unknown) => {
        assert.ok(error instanceof EgressDeniedError);
        assert.deepEqual(error.denial, {
          scheme: 'file',
          host: '',
          port: 0,
          rules: [],
          reason: 'only http and https redirects are followed',
        });
        assert.equal(error.message, 'egress to file URL denied: only http and https redirects are followed');
        return true;
      },
    );
  });

  it('refuses an invalid Location', () => {
    assert.throws(
      () => nextHop(request('GET'), 302, 'http://[::1'),
      (error: unknown) =>
        error instanceof EgressError &&
        error.code === 'UPSTREAM_ERROR' &&
        error.message === 'redirect from api.test has an invalid Location',
    );
  });

  it('keeps HEAD on a 303, without a body', () => {
    const next = nextHop(request('HEAD'), 303, '/see');
    assert.ok(next !== undefined);
    assert.equal(next.method, 'HEAD');
    assert.equal(next.body, null);
    assert.equal(next.headers.get('content-type'), 'application/json');
  });

  it('follows a request that has no body at all (undefined), keeping method and headers', () => {
    // request() turns an undefined body into null: set it after.
    const next = nextHop({ ...request('PUT'), body: undefined }, 307, '/again');
    assert.ok(next !== undefined);
    assert.equal(next.method, 'PUT');
    assert.equal(next.body, undefined);
    assert.equal(next.url.href, 'https://api.test/again');
  });

  it('refuses to resend a streamed body but allows dropping it', () => {
    const stream = new ReadableStream<Uint8Array>();
    assert.throws(
      () => nextHop(request('PUT', stream), 307, '/again'),
      (error: unknown) =>
        error instanceof EgressError &&
        error.code === 'UPSTREAM_ERROR' &&
        error.message === 'redirect from api.test needs the request body again, but it was a stream',
    );
    assert.equal(nextHop(request('POST', stream), 303, '/see')?.body, null);
  });
});
