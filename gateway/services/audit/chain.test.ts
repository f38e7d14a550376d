import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { canonicalJson } from '../../kernel/index.js';
import {
  computeRecordHash,
  EMPTY_HEAD,
  GENESIS_HASH,
  isChainedRecord,
  isSecretKey,
  legacyRecordHash,
  lineHashChecks,
  REDACTED,
  redactDetail,
  sealRecord,
  serialiseRecord,
} from './chain.js';
import type { AuditRecordInput } from './types.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('audit chain', () => {
  it('starts from 64 zeros at seq 0', () => {
    assert.equal(GENESIS_HASH, '0'.repeat(64));
    assert.deepEqual(EMPTY_HEAD, { seq: 0, hash: GENESIS_HASH });
    assert.ok(Object.isFrozen(EMPTY_HEAD));
  });

  it('seals a record with the next seq, the time, the previous hash and sha256 over its JSON without the hash', () => {
    const record = sealRecord({ event: 'tool.call', decision: 'allow', tool: 't' }, EMPTY_HEAD, NOW);
    assert.deepEqual(Object.keys(record), ['seq', 'ts', 'event', 'decision', 'tool', 'prev', 'hash']);
    assert.equal(record.seq, 1);
    assert.equal(record.ts, '2026-03-01T12:00:00.000Z');
    assert.equal(record.prev, GENESIS_HASH);
    const unhashed = `{"seq":1,"ts":"2026-03-01T12:00:00.000Z","event":"tool.call","decision":"allow","tool":"t","prev":"${GENESIS_HASH}"}`;
    assert.equal(record.hash, sha256(unhashed));
    assert.equal(serialiseRecord(record), `${unhashed.slice(0, -1)},"hash":"${record.hash}"}\n`);
    assert.equal(computeRecordHash(record), record.hash);

    const next = sealRecord({ event: 'tool.call' }, { seq: record.seq, hash: record.hash }, NOW);
    assert.equal(next.seq, 2);
    assert.equal(next.prev, record.hash);
  });

  it('keeps the chain fields its own: an input cannot pre-set seq, ts, prev or hash', () => {
    const forged = {
      event: 'tool.call',
      seq: 99,
      ts: '1999-01-01T00:00:00.000Z',
      prev: 'f'.repeat(64),
      hash: 'e'.repeat(64),
    } as unknown as AuditRecordInput;
    const record = sealRecord(forged, { seq: 4, hash: 'a'.repeat(64) }, NOW);
    assert.equal(record.seq, 5);
    assert.equal(record.ts, NOW.toISOString());
    assert.equal(record.prev, 'a'.repeat(64));
    assert.equal(record.hash, computeRecordHash(record));
    assert.notEqual(record.hash, 'e'.repeat(64));
  });

  it('hashes what a reader parses back: undefined members dropped, detail redacted', () => {
    const record = sealRecord(
      {
        event: 'task.open',
        agentId: undefined,
        detail: { headers: { Authorization: 'Bearer x', accept: 'json' }, list: [{ apiKey: 'k' }, 1] },
      } as unknown as AuditRecordInput,
      EMPTY_HEAD,
      NOW,
    );
    assert.equal('agentId' in record, false);
    assert.deepEqual(record.detail, {
      headers: { Authorization: REDACTED, accept: 'json' },
      list: [{ apiKey: REDACTED }, 1],
    });
    const parsed = JSON.parse(serialiseRecord(record)) as object;
    assert.equal(computeRecordHash(parsed), record.hash);
    assert.equal(serialiseRecord(record), `${JSON.stringify(record)}\n`);
  });

  it('leaves a record without detail without one', () => {
    assert.equal('detail' in sealRecord({ event: 'task.open' }, EMPTY_HEAD, NOW), false);
  });

  it('computes the hash without the hash member, whatever it holds', () => {
    const body = { seq: 1, event: 'x' };
    assert.equal(computeRecordHash({ ...body, hash: 'anything' }), computeRecordHash(body));
    assert.notEqual(computeRecordHash({ ...body, seq: 2 }), computeRecordHash(body));
  });
});

describe('checking a line against its hash', () => {
  const head = { seq: 6, hash: 'b'.repeat(64) };
  const record = sealRecord({ event: 'tool.call', tool: 't', detail: { n: 1, list: ['x'] } }, head, NOW);
  const line = serialiseRecord(record).slice(0, -1);

  it('accepts a line as the log wrote it', () => {
    assert.equal(lineHashChecks(line, record), true);
  });

  it('refuses a line whose text changed, even where its parsed record did not', () => {
    const reordered = line.replace('"event":"tool.call","tool":"t"', '"tool":"t","event":"tool.call"');
    const spaced = line.replace('"tool":"t"', '"tool": "t"');
    const edited = line.replace('"tool":"t"', '"tool":"u"');
    for (const text of [reordered, spaced, edited]) {
      assert.notEqual(text, line);
      assert.equal(lineHashChecks(text, JSON.parse(text) as { hash: string }), false, text);
    }
    assert.deepEqual(JSON.parse(reordered), JSON.parse(line));
  });

  it('refuses a line whose hash member is not the last, or not the hash it claims', () => {
    const { hash, ...body } = record;
    const hashFirst = JSON.stringify({ hash, ...body });
    assert.equal(lineHashChecks(hashFirst, record), false);
    const otherHash = line.replace(record.hash, 'c'.repeat(64));
    assert.equal(lineHashChecks(otherHash, JSON.parse(otherHash) as { hash: string }), false);
  });

  it('hashes only a line that ends with its hash member as the log writes it', () => {
    // A line that ends otherwise, whose hash was made for the text a fixed-length cut would leave: refused.
    const { hash: _hash, ...body } = record;
    const start = JSON.stringify(body).slice(0, -1);
    const forged = sha256(`${start},}`);
    const text = `${start},"hash":"${forged}" }`;
    const parsed = JSON.parse(text) as { hash: string };
    assert.equal(parsed.hash, forged);
    assert.equal(lineHashChecks(text, parsed), false);
  });

  it('accepts a record sealed by the rule before (canonical JSON) and refuses it edited', () => {
    const { hash: _hash, ...body } = record;
    const old = { ...body, hash: sha256(canonicalJson(body)) };
    const oldLine = JSON.stringify(old);
    assert.equal(legacyRecordHash(old), old.hash);
    assert.notEqual(old.hash, record.hash);
    assert.equal(lineHashChecks(oldLine, old), true);
    // That rule never depended on the order of members on the line.
    const reordered = JSON.stringify({ hash: old.hash, ...body });
    assert.equal(lineHashChecks(reordered, JSON.parse(reordered) as { hash: string }), true);
    const edited = { ...old, tool: 'u' };
    assert.equal(lineHashChecks(JSON.stringify(edited), edited), false);
  });
});

describe('redaction of audit detail', () => {
  it('recognises secret-looking keys, case-insensitively', () => {
    for (const key of [
      'token',
      'accessToken',
      'client_secret',
      'password',
      'passwd',
      'Authorization',
      'authorisation',
      'x-api-key',
      'api_key',
      'apikey',
      'Cookie',
      'credential',
      'private-key',
      'privateKey',
      'private_key',
    ])
      assert.equal(isSecretKey(key), true, key);
    for (const key of ['tool', 'agentId', 'keyId', 'author', 'pass', 'private'])
      assert.equal(isSecretKey(key), false, key);
  });

  it('replaces secret values at any depth and keeps the rest as it is', () => {
    assert.deepEqual(redactDetail([{ token: 't' }, 'plain', null, 3]), [{ token: REDACTED }, 'plain', null, 3]);
    assert.deepEqual(redactDetail({ a: { b: { password: { nested: 1 } } }, n: null }), {
      a: { b: { password: REDACTED } },
      n: null,
    });
    assert.equal(redactDetail('token'), 'token');
    assert.equal(REDACTED, '[redacted]');
  });
});

describe('isChainedRecord', () => {
  const good = { seq: 1, ts: NOW.toISOString(), prev: GENESIS_HASH, hash: 'a'.repeat(64), event: 'tool.call' };

  it('accepts a well-formed record', () => {
    assert.equal(isChainedRecord(good), true);
  });

  it('refuses anything that is not an object with well-formed chain fields', () => {
    for (const value of [null, 'x', 1, [good]]) assert.equal(isChainedRecord(value), false);
    const bad: Record<string, unknown>[] = [
      { seq: 0 },
      { seq: 1.5 },
      { seq: '1' },
      { seq: Number.MAX_SAFE_INTEGER + 1 },
      { ts: 1 },
      { prev: 'a'.repeat(63) },
      { prev: 'A'.repeat(64) },
      { prev: `x${'a'.repeat(64)}` },
      { prev: 7 },
      { prev: ['a'.repeat(64)] },
      { hash: ['a'.repeat(64)] },
      { hash: 'g'.repeat(64) },
      { hash: `${'a'.repeat(64)}\n` },
      { hash: null },
      { event: 3 },
    ];
    for (const change of bad) assert.equal(isChainedRecord({ ...good, ...change }), false, JSON.stringify(change));
    const { event: _event, ...noEvent } = good;
    assert.equal(isChainedRecord(noEvent), false);
  });
});
