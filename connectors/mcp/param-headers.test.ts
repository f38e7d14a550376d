import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkParamHeaders, paramHeaderDeclarations, paramHeaders } from './param-headers.js';

const schema = {
  type: 'object',
  properties: {
    region: { type: 'string', 'x-mcp-header': 'Region' },
    count: { type: 'integer', 'x-mcp-header': 'Count' },
    nested: { type: 'object', properties: { flag: { type: 'boolean', 'x-mcp-header': 'Flag' } } },
    list: { type: 'array', items: { type: 'string', 'x-mcp-header': 'Item' } },
    bad: { type: 'string', 'x-mcp-header': 'not a token' },
    obj: { type: 'object', 'x-mcp-header': 'Obj' },
  },
};

const headersOf =
  (headers: Record<string, string>) =>
  (name: string): string | undefined =>
    headers[name];

describe('Mcp-Param headers', () => {
  it('finds primitive declarations reachable through properties only', () => {
    assert.deepEqual(paramHeaderDeclarations(schema), [
      { headerName: 'Region', path: ['region'], type: 'string' },
      { headerName: 'Count', path: ['count'], type: 'integer' },
      { headerName: 'Flag', path: ['nested', 'flag'], type: 'boolean' },
    ]);
    assert.deepEqual(paramHeaderDeclarations({ type: 'object' }), []);
    assert.deepEqual(paramHeaderDeclarations(undefined), []);
  });

  it('reads a schema once, and a replaced schema afresh', () => {
    const first = paramHeaderDeclarations(schema);
    assert.equal(paramHeaderDeclarations(schema), first);
    assert.ok(Object.isFrozen(first) && first.every((d) => Object.isFrozen(d) && Object.isFrozen(d.path)));
    const replaced = { ...schema, properties: { zone: { type: 'string', 'x-mcp-header': 'Zone' } } };
    assert.deepEqual(paramHeaderDeclarations(replaced), [{ headerName: 'Zone', path: ['zone'], type: 'string' }]);
  });

  const declarations = paramHeaderDeclarations(schema);
  const base64 = (text: string) => `=?base64?${Buffer.from(text).toString('base64')}?=`;

  it('accepts matching literal and Base64 values, and numbers compared as numbers', () => {
    const args = { region: 'eu-west', count: 42, nested: { flag: true } };
    assert.equal(
      checkParamHeaders(
        declarations,
        args,
        headersOf({ 'mcp-param-region': 'eu-west', 'mcp-param-count': '42.0', 'mcp-param-flag': 'true' }),
      ),
      undefined,
    );
    assert.equal(
      checkParamHeaders(declarations, { region: 'Grüße' }, headersOf({ 'mcp-param-region': base64('Grüße') })),
      undefined,
    );
    // A value without the whole sentinel is literal.
    const half = `=?base64?${Buffer.from('x').toString('base64')}`;
    assert.equal(checkParamHeaders(declarations, { region: half }, headersOf({ 'mcp-param-region': half })), undefined);
  });

  it('decodes a Base64 value exactly, a leading byte order mark included', () => {
    for (const region of ['\uFEFF', '\uFEFFeu', 'eu\uFEFF']) {
      assert.equal(
        checkParamHeaders(declarations, { region }, headersOf({ 'mcp-param-region': base64(region) })),
        undefined,
        JSON.stringify(region),
      );
      assert.equal(
        checkParamHeaders(
          declarations,
          { region: region.replace('\uFEFF', '') },
          headersOf({ 'mcp-param-region': base64(region) }),
        )?.header,
        'Mcp-Param-Region',
        `${JSON.stringify(region)} is not the same value without its mark`,
      );
    }
  });

  it('expects no header for an absent or null argument', () => {
    assert.equal(checkParamHeaders(declarations, { region: null }, headersOf({})), undefined);
    assert.equal(checkParamHeaders(declarations, {}, headersOf({})), undefined);
  });

  it('refuses a missing, different or undecodable header', () => {
    assert.equal(checkParamHeaders(declarations, { region: 'eu' }, headersOf({}))?.header, 'Mcp-Param-Region');
    assert.ok(checkParamHeaders(declarations, { region: 'eu' }, headersOf({ 'mcp-param-region': 'us' })));
    assert.ok(
      checkParamHeaders(declarations, { region: 'Hello' }, headersOf({ 'mcp-param-region': '=?base64?SGVsbG8?=' })),
    );
    assert.ok(
      checkParamHeaders(declarations, { region: 'Hello' }, headersOf({ 'mcp-param-region': '=?base64?SGVs!!!bG8=?=' })),
    );
    assert.ok(checkParamHeaders(declarations, { count: 42 }, headersOf({ 'mcp-param-count': '43' })));
  });

  it('builds the headers a client sends, in Base64 when the value is not a plain field value', () => {
    const headers = paramHeaders(declarations, { region: 'Grüße', count: 7, nested: { flag: false }, list: ['x'] });
    assert.deepEqual(headers, {
      'Mcp-Param-Region': base64('Grüße'),
      'Mcp-Param-Count': '7',
      'Mcp-Param-Flag': 'false',
    });
    assert.equal(paramHeaders(declarations, { region: ' padded' })['Mcp-Param-Region'], base64(' padded'));
    assert.equal(
      paramHeaders(declarations, { region: '=?base64?eA==?=' })['Mcp-Param-Region'],
      base64('=?base64?eA==?='),
    );
    // What is built is what the check accepts.
    const args = { region: 'Grüße', count: 7 };
    const built = Object.fromEntries(
      Object.entries(paramHeaders(declarations, args)).map(([k, v]) => [k.toLowerCase(), v]),
    );
    assert.equal(checkParamHeaders(declarations, args, headersOf(built)), undefined);
  });
});
