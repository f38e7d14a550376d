// Operator console: plain DOM, no build step. Talks to the operator API with the operator's bearer token
// (kept in sessionStorage for this tab only). The approvals page follows /v1/approvals/events for live
// updates; the other pages live in pages.js. Pages are chosen by the URL fragment (#tasks, #agents, ...).
import { createPages } from './pages.js';

const PAGES = ['approvals', 'tasks', 'agents', 'tools', 'decisions', 'health'];
const $ = (selector, root = document) => root.querySelector(selector);
const state = {
  token: sessionStorage.getItem('portcullis.operatorToken') ?? '',
  tickets: new Map(),
  stream: undefined,
};

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${state.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(payload.error?.message ?? response.statusText);
    error.code = payload.error?.code ?? `HTTP_${response.status}`;
    error.status = response.status;
    throw error;
  }
  return payload;
}

api.token = () => state.token;

const pages = createPages({
  api,
  showError: (message) => {
    $('#page-error').textContent = message;
  },
  showStatus: (message) => {
    $('#action-status').textContent = message;
  },
});

async function show() {
  const requested = location.hash.slice(1);
  const page = PAGES.includes(requested) ? requested : 'approvals';
  for (const section of document.querySelectorAll('section.page')) section.hidden = section.dataset.page !== page;
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.getAttribute('href') === `#${page}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  $('#page-error').textContent = '';
  $('#action-status').textContent = '';
  try {
    await pages.load(page);
  } catch (error) {
    $('#page-error').textContent =
      error.status === 403
        ? `Your operator role cannot see this page (${error.message}).`
        : `${error.code}: ${error.message}`;
  }
}

window.addEventListener('hashchange', () => state.token && void show());

function text(element, value) {
  element.textContent = value ?? '—';
}

function renderTicket(ticket) {
  const node = $('#ticket-template').content.firstElementChild.cloneNode(true);
  node.dataset.id = ticket.id;
  text($('.tool', node), ticket.tool);
  text($('.agent', node), `requested by ${ticket.agentId}`);
  text($('.task', node), ticket.taskId);
  text($('.intent', node), ticket.intent);
  text(
    $('.operation', node),
    ticket.operation ? `${ticket.operation.method} ${ticket.operation.url}` : `tools/call ${ticket.tool}`,
  );
  text($('.args', node), JSON.stringify(ticket.args, null, 2));
  text($('.rules', node), ticket.rules.join(', '));
  text($('.justification', node), ticket.justification);
  text($('.expires', node), new Date(ticket.expiresAt).toLocaleString());
  text($('.approvals', node), `${ticket.decisions.filter((d) => d.approve).length} of ${ticket.requiredApprovers}`);
  const trace = $('.trace', node);
  if (ticket.traceUrl) {
    const link = document.createElement('a');
    link.href = ticket.traceUrl;
    link.textContent = 'open trace';
    link.target = '_blank';
    link.rel = 'noopener';
    trace.replaceChildren(link);
  } else text(trace, undefined);
  const form = $('form', node);
  form.setAttribute('aria-label', `Decide request for ${ticket.tool} by ${ticket.agentId}`);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void decide(ticket.id, event.submitter?.value, new FormData(form));
  });
  return node;
}

function render() {
  const tickets = [...state.tickets.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const pending = tickets.filter((t) => t.status === 'pending');
  $('#pending').replaceChildren(...pending.map(renderTicket));
  text($('#pending-count'), String(pending.length));
  $('#pending-empty').hidden = pending.length > 0;
  const rows = tickets
    .filter((t) => t.status !== 'pending')
    .map((t) => {
      const row = document.createElement('tr');
      const last = t.decisions.at(-1);
      for (const value of [
        t.id.slice(0, 12),
        t.agentId,
        t.tool,
        t.status,
        t.decisions.map((d) => d.approver).join(', '),
        last?.reason,
      ]) {
        const cell = document.createElement('td');
        text(cell, value);
        row.append(cell);
      }
      const traceCell = document.createElement('td');
      if (t.traceUrl) {
        const link = document.createElement('a');
        link.href = t.traceUrl;
        link.textContent = 'trace';
        traceCell.append(link);
      }
      row.append(traceCell);
      return row;
    });
  $('#history').replaceChildren(...rows);
}

async function decide(id, action, form) {
  $('#action-error').textContent = '';
  const reason = String(form.get('reason') ?? '').trim();
  try {
    const ticket = await api(
      'POST',
      `/v1/approvals/${encodeURIComponent(id)}/${action === 'deny' ? 'deny' : 'approve'}`,
      {
        ...(reason ? { reason } : {}),
        ...(action === 'deny' ? {} : { ttlSeconds: Number(form.get('ttl')), scope: String(form.get('scope')) }),
      },
    );
    state.tickets.set(ticket.id, ticket);
    render();
  } catch (error) {
    $('#action-error').textContent = `${error.code}: ${error.message}`;
  }
}

async function follow() {
  // EventSource cannot send an Authorization header, so read the event stream with fetch.
  const controller = new AbortController();
  state.stream = controller;
  try {
    const response = await fetch('/v1/approvals/events', {
      headers: { authorization: `Bearer ${state.token}` },
      signal: controller.signal,
    });
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    text($('#live'), 'Live: new requests appear here as agents ask.');
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        if (data) {
          const ticket = JSON.parse(data);
          state.tickets.set(ticket.id, ticket);
          render();
        }
      }
    }
  } catch (error) {
    if (controller.signal.aborted) return;
  }
  text($('#live'), 'Disconnected; reconnecting…');
  setTimeout(() => state.token && void start(), 2000);
}

async function start() {
  const { approvals } = await api('GET', '/v1/approvals?limit=200');
  state.tickets = new Map(approvals.map((t) => [t.id, t]));
  $('#login').hidden = true;
  $('#nav').hidden = false;
  $('#sign-out').hidden = false;
  render();
  void follow();
  await show();
}

$('#login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  state.token = String(new FormData(event.target).get('token') ?? '');
  try {
    await start();
    sessionStorage.setItem('portcullis.operatorToken', state.token);
    $('#login-error').textContent = '';
  } catch (error) {
    state.token = '';
    $('#login-error').textContent =
      error.status === 401 ? 'That token is not valid.' : `Cannot load requests: ${error.message}`;
  }
});

$('#sign-out').addEventListener('click', () => {
  sessionStorage.removeItem('portcullis.operatorToken');
  state.stream?.abort();
  pages.stop();
  location.reload();
});

if (state.token) start().catch(() => sessionStorage.removeItem('portcullis.operatorToken'));
