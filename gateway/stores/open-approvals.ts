/**
 * Building the approval machinery from the configuration: the queue (BullMQ on Redis when stores are
 * shared, memory for one process), the grant store, the webhook and the pending-approvals gauge.
 */
import type { GatewayEgress } from '../services/egress/index.js';
import { GATEWAY_DESTINATIONS } from '../services/policy/index.js';
import { appendBestEffort, type AuditSink } from '../services/audit/index.js';
import type { GatewayConfig } from '../config/index.js';
import type { Logger } from '../kernel/index.js';
import type { Metrics } from '../services/metrics/index.js';
import type { Stores } from './open-stores.js';
import {
  loadBullmqApprovalQueue,
  createMemoryGrantStore,
  createRedisGrantStore,
  createMemoryApprovalQueue,
  type ApprovalQueue,
  type GrantStore,
  type Ticket,
  createWebhookNotifier,
  isOwner,
  startPendingGauge,
  type WebhookNotifier,
} from '../services/approvals/index.js';

export interface OpenedApprovals {
  queue: ApprovalQueue;
  grants: GrantStore;
  /** Stops the gauge, then closes the webhook, the grant store and the queue. */
  close(): Promise<void>;
}

/** The approval queue and grant store: BullMQ + Redis when stores are shared, memory for one process. */
export async function openApprovals(
  config: GatewayConfig,
  deps: {
    stores: Stores;
    audit: AuditSink;
    metrics: Metrics;
    logger: Logger;
    /** The webhook goes out through the gateway's egress, in its own scope. */
    egress?: Pick<GatewayEgress, 'gatewayFetch'>;
  },
): Promise<OpenedApprovals> {
  const { queue, grants, notifier } = await openQueueAndGrants(config, deps);
  const stopGauge = startPendingGauge(
    queue,
    (n) => deps.metrics.setApprovalsPending(n),
    config.limits.approvalsGaugeIntervalSeconds,
  );
  return {
    queue,
    grants,
    async close() {
      await stopGauge();
      await notifier?.close().catch(() => undefined);
      await grants.close().catch(() => undefined);
      await queue.close();
    },
  };
}

async function openQueueAndGrants(
  config: GatewayConfig,
  { stores, audit, logger, egress }: Parameters<typeof openApprovals>[1],
): Promise<{ queue: ApprovalQueue; grants: GrantStore; notifier?: WebhookNotifier }> {
  const webhookFetch = egress?.gatewayFetch(GATEWAY_DESTINATIONS.approvalsWebhook);
  // Operators hear about new requests through an optional webhook (a chat incoming webhook, say).
  const notifier =
    config.approvals.webhookUrl !== undefined
      ? createWebhookNotifier({
          url: config.approvals.webhookUrl,
          logger,
          ...(webhookFetch !== undefined ? { fetch: webhookFetch } : {}),
          ...(config.http.publicUrl !== undefined
            ? { linkFor: () => `${config.http.publicUrl!.replace(/\/$/, '')}/console/` }
            : {}),
        })
      : undefined;
  const rules = {
    maxGrantSeconds: config.approvals.maxGrantSeconds,
    requireApproveReason: config.approvals.requireApproveReason,
    isSelf: (approver: string, ticket: Ticket) => isOwner(config, approver, ticket),
    onCreated: (ticket: Ticket) => {
      notifier?.notify(ticket);
      void appendBestEffort(audit, {
        event: 'approval.request',
        decision: 'approve',
        agentId: ticket.agentId,
        taskId: ticket.taskId,
        tool: ticket.tool,
        approvalId: ticket.id,
        rules: ticket.rules,
        ...(ticket.operation !== undefined ? { operation: `${ticket.operation.method} ${ticket.operation.url}` } : {}),
        argsHash: ticket.argsHash,
      });
    },
  };
  if (stores.kind === 'redis' && stores.redis !== undefined && stores.redisConnection !== undefined) {
    const connection = stores.redisConnection;
    const createBullmqApprovalQueue = await loadBullmqApprovalQueue();
    return {
      queue: createBullmqApprovalQueue({
        ...rules,
        connection:
          connection.password === undefined ? connection.url : redisOptions(connection.url, connection.password),
        prefix: `${connection.prefix.replace(/:+$/, '')}:bull`,
        queueName: 'approvals',
        logger,
      }),
      grants: createRedisGrantStore({ redis: stores.redis, prefix: connection.prefix }),
      ...(notifier !== undefined ? { notifier } : {}),
    };
  }
  return {
    queue: createMemoryApprovalQueue(rules),
    grants: createMemoryGrantStore(),
    ...(notifier !== undefined ? { notifier } : {}),
  };
}

function redisOptions(
  url: string,
  password: string,
): { host: string; port: number; password: string; db?: number; tls?: object } {
  const parsed = new URL(url);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined;
  return {
    host: parsed.hostname,
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    password,
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
