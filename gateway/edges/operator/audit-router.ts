/**
 * Recent decisions for operators (viewer role), from this instance's ring of durable audit records:
 *
 *   GET /v1/audit/recent?agent=ID&tool=NAME&decision=allow|deny|approve|error&limit=N   newest first
 *   GET /v1/audit/events?agent=ID&tool=NAME&decision=...                                server-sent events, one `record` per new record
 *
 * Each record carries `traceUrl` when a Jaeger UI URL is configured and the record has a trace id.
 * The audit file remains the complete, verifiable history (`portcullis audit verify`).
 */
import { openEventStream } from './event-stream.js';
import { sendError } from '../http/index.js';
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import {
  matchesRecentFilter,
  type RecentAudit,
  type RecentAuditFilter,
  type RecentAuditRecord,
} from '../../services/audit/index.js';
import type { OperatorAuthenticator } from './operator-auth.js';

const FilterSchema = z.object({
  agent: z.string().min(1).max(128).optional(),
  tool: z.string().min(1).max(256).optional(),
  decision: z.enum(['allow', 'deny', 'approve', 'error']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

export function createAuditRouter(options: {
  recent: RecentAudit;
  operatorAuth: OperatorAuthenticator;
  jaegerUiUrl?: string;
}): Router {
  const router = express.Router();
  const present = (record: RecentAuditRecord): RecentAuditRecord & { traceUrl?: string } => {
    const traceId = record.traceId;
    if (options.jaegerUiUrl === undefined || traceId === undefined || !/^[0-9a-f]{32}$/.test(traceId)) return record;
    return { ...record, traceUrl: `${options.jaegerUiUrl.replace(/\/$/, '')}/trace/${traceId}` };
  };
  const filterOf = (req: Request): { filter: RecentAuditFilter; limit?: number } => {
    const empty = Object.fromEntries(Object.entries(req.query).filter(([, value]) => value !== ''));
    const query = FilterSchema.parse(empty);
    return {
      filter: {
        ...(query.agent !== undefined ? { agentId: query.agent } : {}),
        ...(query.tool !== undefined ? { tool: query.tool } : {}),
        ...(query.decision !== undefined ? { decision: query.decision } : {}),
      },
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
    };
  };

  router.get('/v1/audit/recent', options.operatorAuth.require('viewer'), (req, res) => {
    try {
      const { filter, limit } = filterOf(req);
      res.json({ records: options.recent.list(filter, limit ?? 200).map(present) });
    } catch (error) {
      sendError(res, error);
    }
  });

  router.get('/v1/audit/events', options.operatorAuth.require('viewer'), (req, res) => {
    let filter: RecentAuditFilter;
    try {
      filter = filterOf(req).filter;
    } catch (error) {
      return void sendError(res, error);
    }
    const stream = openEventStream(req, res);
    stream.onClose(
      options.recent.subscribe((record) => {
        if (matchesRecentFilter(record, filter)) stream.send('record', present(record));
      }),
    );
  });
  return router;
}
