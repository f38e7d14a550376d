/**
 * Optional notice of each new elevation request, POSTed as compact JSON to a webhook (a chat incoming
 * webhook, a pager, an automation). Fire-and-forget: `notify` returns at once, the POST has a short timeout,
 * and a failure is logged and dropped; a request never waits on or fails because of its notice.
 *
 * The summary carries no secrets: no arguments (only their hash), no URL query or fragment, no traceparent.
 * The webhook URL itself may hold a token (chat webhooks do), so it is never logged; only its host is.
 */
import type { Logger } from '../../kernel/index.js';
import type { Ticket } from './types.js';

export type FetchLike = (
  input: string,
  init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal; redirect: 'error' },
) => Promise<{ ok: boolean; status: number; body?: unknown }>;

export interface WebhookNotifierOptions {
  url: string;
  /** Defaults to the global fetch; pass the egress-guarded fetch in production. */
  fetch?: FetchLike;
  /** Default 3000 ms. */
  timeoutMs?: number;
  logger?: Logger;
  /** Link to the request in the operator console, e.g. `(t) => https://gw.example/console#/approvals/${t.id}`. */
  linkFor?: (ticket: Ticket) => string | undefined;
}

export interface WebhookNotifier {
  /** Sends the summary of a new request in the background. Never throws. */
  notify(ticket: Ticket): void;
  /** Waits for notices in flight (bounded by their timeout). */
  close(): Promise<void>;
}

export interface ApprovalRequestSummary {
  type: 'portcullis.approval.requested';
  id: string;
  /** One line for chat webhooks that show `text`. */
  text: string;
  agentId: string;
  tenant?: string;
  taskId: string;
  tool: string;
  /** `METHOD scheme://host/path` (query and fragment dropped). */
  operation?: string;
  rules: readonly string[];
  reason?: string;
  justification?: string;
  requiredApprovers: number;
  argsHash: string;
  createdAt: string;
  expiresAt: string;
  link?: string;
}

const MAX_FREE_TEXT = 500;

export function summarizeRequest(ticket: Ticket, link?: string): ApprovalRequestSummary {
  const operation =
    ticket.operation !== undefined ? `${ticket.operation.method} ${withoutQuery(ticket.operation.url)}` : undefined;
  const text = `Approval needed: agent ${ticket.agentId} wants to call ${ticket.tool}${operation !== undefined ? ` (${operation})` : ''} in task ${ticket.taskId}; request ${ticket.id}, expires ${ticket.expiresAt}.`;
  return {
    type: 'portcullis.approval.requested',
    id: ticket.id,
    text,
    agentId: ticket.agentId,
    ...(ticket.tenant !== undefined ? { tenant: ticket.tenant } : {}),
    taskId: ticket.taskId,
    tool: ticket.tool,
    ...(operation !== undefined ? { operation } : {}),
    rules: [...ticket.rules],
    ...(ticket.reason !== undefined ? { reason: clip(ticket.reason) } : {}),
    ...(ticket.justification !== undefined ? { justification: clip(ticket.justification) } : {}),
    requiredApprovers: ticket.requiredApprovers,
    argsHash: ticket.argsHash,
    createdAt: ticket.createdAt,
    expiresAt: ticket.expiresAt,
    ...(link !== undefined ? { link } : {}),
  };
}

export function createWebhookNotifier(options: WebhookNotifierOptions): WebhookNotifier {
  const target = new URL(options.url);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new TypeError('webhook url must be http(s)');
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  const timeoutMs = options.timeoutMs ?? 3000;
  const host = target.host;
  const inFlight = new Set<Promise<void>>();

  async function send(ticket: Ticket): Promise<void> {
    try {
      const body = JSON.stringify(summarizeRequest(ticket, options.linkFor?.(ticket)));
      const response = await fetchImpl(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      await drain(response.body);
      if (!response.ok)
        options.logger?.warn({ host, status: response.status, approvalId: ticket.id }, 'approval webhook was refused');
    } catch (error) {
      const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : 'unreachable';
      options.logger?.warn({ host, reason, approvalId: ticket.id }, 'approval webhook failed');
    }
  }

  return {
    notify(ticket: Ticket): void {
      const pending = send(ticket).finally(() => inFlight.delete(pending));
      inFlight.add(pending);
    },
    async close(): Promise<void> {
      await Promise.allSettled([...inFlight]);
    },
  };
}

function withoutQuery(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return url.split(/[?#]/, 1)[0] ?? '';
  }
}

function clip(text: string): string {
  return text.length > MAX_FREE_TEXT ? `${text.slice(0, MAX_FREE_TEXT)}…` : text;
}

/** Releases the response body so the connection can be reused. */
async function drain(body: unknown): Promise<void> {
  const stream = body as { cancel?: () => Promise<void> } | null | undefined;
  await stream?.cancel?.().catch(() => {});
}
