import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INVALID_SPAN_CONTEXT, trace } from '@opentelemetry/api';
import type { AppendOptions, AuditRecordInput, AuditSink } from '../../services/audit/index.js';
import type { CallState } from '../call-state.js';
import { recordStep } from './record.js';

/** A sink whose appends resolve only when the test says so, remembering what each was given. */
function heldSink(): AuditSink & {
  appended: { record: AuditRecordInput; options: AppendOptions | undefined }[];
  settle(): void;
} {
  const appended: { record: AuditRecordInput; options: AppendOptions | undefined }[] = [];
  const waiting: (() => void)[] = [];
  return {
    appended,
    settle: () => waiting.splice(0).forEach((resolve) => resolve()),
    append(record, options) {
      appended.push({ record, options });
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    flush: async () => undefined,
    close: async () => undefined,
  };
}

/** A completed tools/call run, as the runner hands it to the closing steps. */
function completedCall(): CallState {
  return {
    operation: 'tools/call',
    name: 'api_text',
    args: {},
    span: trace.wrapSpanContext(INVALID_SPAN_CONTEXT),
    started: performance.now(),
    record: { event: 'tool.call', agentId: 'agent-1', tool: 'api_text' },
    intentRecorded: true,
    elevated: false,
    outcome: { status: 'completed' },
    result: { content: [] },
  } as unknown as CallState;
}

const settled = async (promise: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void promise.then(() => (done = true));
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return done;
};

/** The record step run on a completed call, over a sink that holds every append until the test settles it. */
function runRecordStep(flushAuditBeforeResponse: boolean): {
  audit: ReturnType<typeof heldSink>;
  run: Promise<unknown>;
} {
  const audit = heldSink();
  const span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
  const run = Promise.resolve(recordStep({ audit, flushAuditBeforeResponse }).run(completedCall(), span));
  return { audit, run };
}

describe('record step: the outcome record and the response', () => {
  it('with flushBeforeResponse, waits for the record to be durable and asks for no deferral', async () => {
    const { audit, run } = runRecordStep(true);
    assert.equal(await settled(run), false, 'the step answered before its record was durable');
    assert.equal(audit.appended.length, 1);
    assert.equal(audit.appended[0]!.record.event, 'tool.call');
    assert.equal(audit.appended[0]!.options?.deferrable, undefined);
    audit.settle();
    assert.equal(await run, undefined);
  });

  it('without it, answers at once and lets the record share the next synced write', async () => {
    const { audit, run } = runRecordStep(false);
    assert.equal(await settled(run), true, 'the step waited for a record nobody waits for');
    assert.equal(await run, undefined);
    assert.equal(audit.appended.length, 1);
    assert.deepEqual(audit.appended[0]!.options, { deferrable: true });
    audit.settle();
  });
});
