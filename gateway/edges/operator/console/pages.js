// Console pages beyond approvals: tasks, agents, tool integrity, recent decisions, health.
// Everything written by agents or upstreams (intents, reasons, tool descriptions, findings) is set with
// textContent only; nothing here builds HTML from data.
import { lineDiff } from './diff.js';

const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, value, className) {
  const node = document.createElement(tag);
  if (value !== undefined) node.textContent = value === null ? '—' : String(value);
  if (className) node.className = className;
  return node;
}

function row(values) {
  const tr = document.createElement('tr');
  for (const value of values) {
    if (value instanceof Node) {
      const td = document.createElement('td');
      td.append(value);
      tr.append(td);
    } else tr.append(el('td', value ?? null, String(value ?? '').length > 24 ? 'long' : undefined));
  }
  return tr;
}

function age(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

function traceLink(url) {
  if (!url) return el('span', '—', 'muted');
  const link = el('a', 'trace');
  link.href = url;
  link.target = '_blank';
  link.rel = 'noopener';
  return link;
}

/** A small inline form: a reason field and one button; `onSubmit(reason)` runs the action. */
function reasonForm(label, buttonText, buttonClass, onSubmit) {
  const form = document.createElement('form');
  form.className = 'inline';
  form.setAttribute('aria-label', label);
  const reasonLabel = el('label', 'Reason');
  const input = document.createElement('input');
  input.name = 'reason';
  input.required = true;
  input.maxLength = 500;
  reasonLabel.append(input);
  const button = el('button', buttonText, buttonClass);
  button.type = 'submit';
  form.append(reasonLabel, button);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void onSubmit(input.value.trim());
  });
  return form;
}

export function createPages({ api, showError, showStatus }) {
  const decisions = { stream: undefined, filter: new URLSearchParams() };

  async function act(work, done) {
    showError('');
    try {
      await work();
      showStatus(done);
    } catch (error) {
      showError(`${error.code}: ${error.message}`);
    }
  }

  async function tasks() {
    const { tasks: list } = await api('GET', '/v1/operator/tasks');
    $('#tasks').replaceChildren(
      ...list.map((task) =>
        row([
          el('code', task.id),
          task.agentId,
          task.intent,
          age(task.createdAt),
          task.callCount,
          reasonForm(`End task ${task.id}`, 'End task', 'deny', (reason) =>
            act(async () => {
              await api('POST', `/v1/operator/tasks/${encodeURIComponent(task.id)}/end`, { reason });
              await tasks();
            }, `Task ${task.id} ended.`),
          ),
        ]),
      ),
    );
    $('#tasks-empty').hidden = list.length > 0;
  }

  async function agents() {
    const { agents: list } = await api('GET', '/v1/agents');
    $('#agents').replaceChildren(
      ...list.map((agent) => {
        const state = agent.configDisabled ? 'disabled in configuration' : agent.disabled ? 'disabled' : 'enabled';
        const action = agent.disabled ? 'enable' : 'disable';
        const change = agent.configDisabled
          ? el('span', 'change the configuration', 'muted')
          : reasonForm(
              `${action === 'disable' ? 'Disable' : 'Enable'} agent ${agent.id}`,
              action === 'disable' ? 'Disable' : 'Enable',
              action === 'disable' ? 'deny' : 'approve',
              (reason) =>
                act(async () => {
                  await api('POST', `/v1/agents/${encodeURIComponent(agent.id)}/${action}`, { reason });
                  await agents();
                }, `Agent ${agent.id} ${action}d.`),
            );
        return row([
          agent.id,
          agent.roles.join(', ') || '—',
          el('span', state, `state ${state.split(' ')[0]}`),
          change,
        ]);
      }),
    );
  }

  function renderPin(pin) {
    const pending = pin.pending;
    const node = $('#pin-template').content.firstElementChild.cloneNode(true);
    const name = `${pin.connector}_${pin.tool}`;
    node.dataset.tool = name;
    $('.tool', node).textContent = name;
    $('.why', node).textContent = pending.reason === 'new' ? 'held on first sight' : 'changed since it was trusted';
    $('.seen', node).textContent = new Date(pending.seenAt).toLocaleString();
    $('.hash', node).textContent = pending.hash;
    $('.score', node).textContent = String(pending.score);
    $('.flags', node).textContent = pending.flags.length ? pending.flags.join(', ') : 'none';
    $('.findings', node).replaceChildren(
      ...(pending.findings.length
        ? pending.findings.map((f) => {
            const item = el('li');
            item.append(el('strong', `${f.flag} (${f.rule}) in ${f.where}: `), el('span', f.explanation));
            item.append(el('pre', f.excerpt, 'excerpt'));
            return item;
          })
        : [el('li', 'no findings', 'muted')]),
    );
    $('.changes', node).replaceChildren(
      ...pending.changes.map((change) => {
        const block = el('div', undefined, 'change');
        block.append(el('h5', change.field));
        const pre = el('pre', undefined, 'diff');
        pre.setAttribute('aria-label', `Changes to ${change.field}`);
        for (const line of lineDiff(
          change.before === 'null' ? '' : change.before,
          change.after === 'null' ? '' : change.after,
        )) {
          const span = el('span', `${line.kind === 'add' ? '+ ' : line.kind === 'remove' ? '- ' : '  '}${line.text}\n`);
          span.className = line.kind;
          pre.append(span);
        }
        block.append(pre);
        return block;
      }),
    );
    const form = $('form', node);
    form.setAttribute('aria-label', `Approve ${name} at hash ${pending.hash.slice(0, 12)}`);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void act(async () => {
        await api(
          'POST',
          `/v1/tools/pins/${encodeURIComponent(pin.connector)}/${encodeURIComponent(pin.tool)}/approve`,
          {
            hash: pending.hash,
          },
        );
        await tools();
      }, `${name} approved.`);
    });
    return node;
  }

  async function tools() {
    const { pins } = await api('GET', '/v1/tools/pins');
    const waiting = pins.filter((pin) => pin.pending);
    $('#pins').replaceChildren(...waiting.map(renderPin));
    $('#pins-empty').hidden = waiting.length > 0;
  }

  function decisionRow(record) {
    return row([
      new Date(record.ts).toLocaleTimeString(),
      record.event,
      el('span', record.decision ?? '—', `decision ${record.decision ?? ''}`),
      record.agentId ?? record.actor,
      record.tool,
      record.operation,
      [record.code, record.reason].filter(Boolean).join(': ') || null,
      traceLink(record.traceUrl),
    ]);
  }

  async function followDecisions(query) {
    decisions.stream?.abort();
    const controller = new AbortController();
    decisions.stream = controller;
    try {
      const response = await fetch(`/v1/audit/events?${query}`, {
        headers: { authorization: `Bearer ${api.token()}` },
        signal: controller.signal,
      });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      $('#decisions-live').textContent = 'Live: new records appear at the top.';
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const data = buffer
            .slice(0, end)
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          buffer = buffer.slice(end + 2);
          if (data) {
            const body = $('#decisions');
            body.prepend(decisionRow(JSON.parse(data)));
            while (body.rows.length > 500) body.deleteRow(-1);
          }
        }
      }
    } catch {
      if (controller.signal.aborted) return;
    }
    $('#decisions-live').textContent = 'Disconnected; reopen the page to reconnect.';
  }

  async function recentDecisions() {
    const form = $('#decisions-filter');
    const query = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (String(value).trim()) query.set(key, String(value).trim());
    const { records } = await api('GET', `/v1/audit/recent?${query}&limit=200`);
    $('#decisions').replaceChildren(...records.map(decisionRow));
    void followDecisions(query.toString());
  }

  async function health() {
    const report = await api('GET', '/v1/operator/health');
    $('#health-overall').textContent = report.ok ? 'healthy' : 'degraded';
    $('#health-overall').className = `count ${report.ok ? 'ok' : 'bad'}`;
    const entries = [
      ['Version', report.version],
      ['Policy', `${report.policy.version} (${report.policy.ruleCount} rules, loaded ${report.policy.loadedAt})`],
      [
        'Policy error',
        report.policy.lastError ? `${report.policy.lastError.file}: ${report.policy.lastError.message}` : 'none',
      ],
      ['Stores', `${report.stores.kind}: ${report.stores.reachable ? 'reachable' : 'UNREACHABLE'}`],
      [
        'Audit sink',
        `${report.audit.kind}${report.audit.file ? ` ${report.audit.file}` : ''}: ${report.audit.ok ? 'writing' : 'FAILING'}` +
          (report.audit.lastDurableAt ? `, last record ${report.audit.lastDurableAt}` : '') +
          (report.audit.lastFailureAt ? `, last failure ${report.audit.lastFailureAt}` : ''),
      ],
    ];
    $('#health').replaceChildren(...entries.flatMap(([term, value]) => [el('dt', term), el('dd', value)]));
    $('#connectors').replaceChildren(
      ...report.connectors.map((c) => row([c.id, c.kind, c.tools, c.warnings.join('; ') || 'none'])),
    );
  }

  $('#decisions-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    void recentDecisions().catch((error) => showError(`${error.code}: ${error.message}`));
  });
  $('#health-refresh').addEventListener('click', () => {
    void health().catch((error) => showError(`${error.code}: ${error.message}`));
  });

  const loaders = { tasks, agents, tools, decisions: recentDecisions, health };
  return {
    async load(page) {
      if (page !== 'decisions') decisions.stream?.abort();
      await loaders[page]?.();
    },
    stop() {
      decisions.stream?.abort();
    },
  };
}
