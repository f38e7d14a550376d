import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtocolError, ProtocolErrorCode, SdkError, SdkErrorCode, SdkHttpError } from '@modelcontextprotocol/client';
import { ConnectorError } from '../errors.js';
import { isSessionLost, toConnectorError } from './error-mapping.js';

const httpError = (status: number, text: string): SdkHttpError =>
  new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, text, { status, statusText: '', text });

describe('toConnectorError', () => {
  it('reports the caller cancelling as CANCELLED, whatever the SDK threw', () => {
    const controller = new AbortController();
    controller.abort();
    const error = new SdkError(SdkErrorCode.RequestTimeout, 'cancelled');
    assert.equal(toConnectorError(error, 'call', controller.signal).code, 'CANCELLED');
    assert.equal(toConnectorError(error, 'call').code, 'UPSTREAM_TIMEOUT');
  });

  it('maps transport failures to UPSTREAM_UNAVAILABLE without copying response bodies', () => {
    const http = toConnectorError(httpError(500, 'Error POSTing to endpoint: secret-body'), 'call');
    assert.equal(http.code, 'UPSTREAM_UNAVAILABLE');
    assert.doesNotMatch(`${http.message} ${JSON.stringify(http.details)}`, /secret-body/);
    assert.equal(
      toConnectorError(new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed'), 'call').code,
      'UPSTREAM_UNAVAILABLE',
    );
    assert.equal(toConnectorError(new TypeError('fetch failed'), 'call').code, 'UPSTREAM_UNAVAILABLE');
    assert.equal(toConnectorError(new Error('Not connected'), 'read').code, 'UPSTREAM_UNAVAILABLE');
    assert.equal(
      toConnectorError(new SdkError(SdkErrorCode.NotConnected, 'Not connected'), 'read').code,
      'UPSTREAM_UNAVAILABLE',
    );
  });

  it("reports an egress denial from the gateway's fetch as EGRESS_DENIED, not as an outage", () => {
    const denied = Object.assign(new Error('egress to 10.0.0.1 denied'), { code: 'EGRESS_DENIED' });
    const mapped = toConnectorError(denied, 'call');
    assert.equal(mapped.code, 'EGRESS_DENIED');
    assert.equal(mapped.message, 'egress to 10.0.0.1 denied');
    assert.equal(mapped.cause, denied);
  });

  it("keeps the stable code of other errors thrown by the gateway's fetch", () => {
    const refused = Object.assign(new Error('could not connect'), { code: 'UPSTREAM_UNAVAILABLE' });
    const mapped = toConnectorError(refused, 'call');
    assert.equal(mapped.code, 'UPSTREAM_UNAVAILABLE');
    assert.deepEqual(mapped.details, { reason: 'UPSTREAM_UNAVAILABLE' });
    assert.equal(mapped.cause, refused);
    const slow = Object.assign(new Error('timed out'), { code: 'UPSTREAM_TIMEOUT' });
    assert.equal(toConnectorError(slow, 'call').code, 'UPSTREAM_TIMEOUT');
  });

  it('blames the caller for invalid params only where the caller chose them', () => {
    const invalid = new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid arguments for tool echo');
    const call = toConnectorError(invalid, 'call');
    assert.equal(call.code, 'INVALID_ARGUMENTS');
    assert.deepEqual(call.details, { upstreamCode: -32602, upstreamMessage: 'Invalid arguments for tool echo' });
    assert.equal(toConnectorError(invalid, 'read').code, 'RESOURCE_NOT_FOUND');
    assert.equal(toConnectorError(invalid, 'prompt').code, 'INVALID_ARGUMENTS');
    assert.equal(
      toConnectorError(new ProtocolError(ProtocolErrorCode.InvalidParams, 'Prompt x not found'), 'prompt').code,
      'PROMPT_NOT_FOUND',
    );
    assert.equal(toConnectorError(invalid, 'list').code, 'UPSTREAM_ERROR');
    assert.equal(toConnectorError(new ProtocolError(-32002, 'Resource not found'), 'read').code, 'RESOURCE_NOT_FOUND');
  });

  it('maps other upstream errors to UPSTREAM_ERROR or NOT_SUPPORTED and truncates their messages', () => {
    const long = toConnectorError(new ProtocolError(ProtocolErrorCode.InternalError, 'x'.repeat(5000)), 'call');
    assert.equal(long.code, 'UPSTREAM_ERROR');
    assert.ok((long.details as { upstreamMessage: string }).upstreamMessage.length < 400);
    assert.equal(
      toConnectorError(new ProtocolError(ProtocolErrorCode.MethodNotFound, 'nope'), 'complete').code,
      'NOT_SUPPORTED',
    );
    assert.equal(toConnectorError(new Error('Invalid input: expected object'), 'call').code, 'UPSTREAM_ERROR');
  });

  it('passes ConnectorErrors through unchanged', () => {
    const original = new ConnectorError('TOOL_NOT_FOUND', 'unknown tool');
    assert.equal(toConnectorError(original, 'call'), original);
  });
});

describe('isSessionLost', () => {
  it('is true only for HTTP 404 from the transport', () => {
    assert.equal(isSessionLost(httpError(404, 'Session not found')), true);
    assert.equal(isSessionLost(httpError(400, 'Bad request')), false);
    assert.equal(isSessionLost(new SdkError(SdkErrorCode.ConnectionClosed, 'closed')), false);
  });
});
