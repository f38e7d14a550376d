import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBareAuthority, isLoopbackAddress, parseHostHeader } from './host.js';

describe('parseHostHeader', () => {
  it('keeps the port as written, also an explicit default port the URL parser drops', () => {
    assert.deepEqual(parseHostHeader('gw.example.com'), { hostname: 'gw.example.com', port: '' });
    assert.deepEqual(parseHostHeader('gw.example.com:8080'), { hostname: 'gw.example.com', port: '8080' });
    assert.deepEqual(parseHostHeader('gw.example.com:80'), { hostname: 'gw.example.com', port: '80' });
    assert.deepEqual(parseHostHeader('GW.Example.com:08080'), { hostname: 'gw.example.com', port: '8080' });
    assert.deepEqual(parseHostHeader('[::1]'), { hostname: '[::1]', port: '' });
    assert.deepEqual(parseHostHeader('[::1]:80'), { hostname: '[::1]', port: '80' });
    assert.deepEqual(parseHostHeader('0x7f.1:3000'), { hostname: '127.0.0.1', port: '3000' });
  });

  it('refuses what is not a bare host[:port]', () => {
    for (const value of [
      '',
      ' ',
      'a b',
      'user@host',
      'host/path',
      'host?q',
      'host#f',
      'host\\x',
      'h:port',
      'h:1:2',
      '[::1',
    ]) {
      assert.equal(parseHostHeader(value), undefined, JSON.stringify(value));
    }
  });
});

describe('isBareAuthority', () => {
  it('accepts a URL that names only a host and port', () => {
    for (const url of ['http://h', 'http://h:8080', 'http://h:8080/', 'http://[::1]:80', 'http://h?', 'http://h#'])
      assert.equal(isBareAuthority(new URL(url)), true, url);
  });

  it('refuses a user name, a password, a path, a query or a fragment, each on its own', () => {
    for (const url of ['http://u@h', 'http://:p@h', 'http://h/x', 'http://h?q', 'http://h#f'])
      assert.equal(isBareAuthority(new URL(url)), false, url);
  });
});

describe('isLoopbackAddress', () => {
  it('recognises loopback literals and exactly localhost', () => {
    for (const host of ['127.0.0.1', '127.255.0.9', '::1', '[::1]', '[0:0:0:0:0:0:0:1]', 'localhost'])
      assert.equal(isLoopbackAddress(host), true, host);
  });

  it('strips brackets only when they enclose the whole host', () => {
    for (const host of ['x127.0.0.1]', '[127.0.0.1x', '[127.0.0.1', '127.0.0.1]', 'x::1]', '[::1x'])
      assert.equal(isLoopbackAddress(host), false, host);
  });

  it('never decides by prefix', () => {
    for (const host of ['127.example.com', 'localhost.', 'localhost.example', '128.0.0.1', '::2', '10.0.0.1', ''])
      assert.equal(isLoopbackAddress(host), false, host);
  });
});
