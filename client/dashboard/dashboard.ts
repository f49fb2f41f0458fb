import { CountChart } from './count-chart';
import { saveToken, takeTokenFromUrl } from './monitor-token';
import type { ConnectionRecord, ConnectionStatus, PresenceSource } from './presence-source';
import { relativeTime } from './relative-time';

/**
 * The dashboard: own session id, connection state, the live list, the count
 * and its chart, and the monitor-token form. Written once against
 * PresenceSource, so it runs on the standalone client and on Meteor's.
 *
 * Every value from the server is written with textContent, never as markup.
 * Test hooks: data-testid="session-id", "connection-row" (with
 * data-session-id), "connection-count", "status".
 */
export interface DashboardEnvironment {
  location: Location;
  history: History;
  storage: Storage;
}

export function mountDashboard(root: HTMLElement, source: PresenceSource, env: DashboardEnvironment): void {
  root.replaceChildren(template());
  const $ = <T extends Element>(id: string) => root.querySelector(`[data-testid="${id}"]`) as T;
  const statusEl = $<HTMLElement>('status');
  const sessionEl = $<HTMLElement>('session-id');
  const sessionNote = $<HTMLElement>('session-note');
  const countEl = $<HTMLElement>('connection-count');
  const rowsEl = $<HTMLTableSectionElement>('rows');
  const accessEl = $<HTMLElement>('access');
  const bridgeEl = $<HTMLElement>('bridge-status');
  const form = $<HTMLFormElement>('token-form');
  const tokenInput = form.querySelector('input') as HTMLInputElement;
  const chart = new CountChart($<SVGSVGElement>('chart'));

  let token = takeTokenFromUrl(env.location, env.history, env.storage);
  let sessionId: string | null = null;
  let records: ConnectionRecord[] = [];
  let renderQueued = false;

  const setStatus = (status: ConnectionStatus) => {
    statusEl.textContent = status;
    statusEl.dataset.state = status;
  };
  setStatus('offline');

  const render = () => {
    renderQueued = false;
    const now = Date.now();
    const sorted = [...records].sort((a, b) => (a.connectedAt?.getTime() ?? 0) - (b.connectedAt?.getTime() ?? 0));
    rowsEl.replaceChildren(...sorted.map((r) => row(r, r._id === sessionId, now)));
    const empty = root.querySelector('.empty') as HTMLElement;
    empty.hidden = sorted.length > 0;
  };
  const queueRender = () => {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(render);
  };

  const checkAccess = async () => {
    if (!token) {
      accessEl.textContent = 'You see your own connection. A monitor token shows everyone.';
      accessEl.dataset.kind = 'info';
      return;
    }
    try {
      const role = await source.call('presence.role', { token });
      accessEl.textContent = role === 'monitor' ? 'Monitor view: every connection.' : 'Token not accepted: showing your own connection only.';
      accessEl.dataset.kind = role === 'monitor' ? 'ok' : 'warning';
    } catch {
      /* connection dropped; checked again on the next session */
    }
  };

  source.start(
    {
      status: setStatus,
      session: (id) => {
        sessionId = id;
        sessionEl.textContent = id ?? '…';
        sessionNote.textContent = '';
        queueRender();
        if (!id) return;
        void checkAccess();
        source.call('getSessionId').then(
          (fromMethod) => {
            if (fromMethod !== id) sessionNote.textContent = `getSessionId returned ${String(fromMethod)}, not the connected session`;
          },
          () => {},
        );
      },
      records: (next) => {
        records = next;
        queueRender();
      },
      bridge: (status) => {
        bridgeEl.hidden = status === null;
        if (!status) return;
        bridgeEl.textContent = !status.enabled
          ? 'Instances: this one only (no MQTT bridge configured).'
          : `MQTT bridge: ${status.connected ? 'connected to' : 'reconnecting to'} ${status.brokerUrl ?? '?'}; ${status.remoteInstances ?? 0} other instance(s) online.`;
        bridgeEl.dataset.kind = status.enabled && !status.connected ? 'warning' : 'info';
      },
      count: (count) => {
        countEl.textContent = count === null ? '–' : String(count);
        if (count !== null) chart.record(count);
      },
    },
    { token },
  );

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    token = tokenInput.value.trim() || undefined;
    tokenInput.value = '';
    saveToken(env.storage, token);
    source.setParams({ token });
    void checkAccess();
  });
  form.querySelector('[data-action="forget"]')!.addEventListener('click', () => {
    token = undefined;
    saveToken(env.storage, undefined);
    source.setParams({});
    void checkAccess();
  });

  // Keep relative times and the chart moving while nothing changes.
  setInterval(() => {
    queueRender();
    const shown = Number(countEl.textContent);
    if (Number.isFinite(shown) && countEl.textContent !== '–') chart.record(shown);
  }, 2000);
}

function row(record: ConnectionRecord, isSelf: boolean, now: number): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'connection-row';
  tr.dataset.sessionId = record._id;
  if (isSelf) {
    tr.classList.add('self');
    tr.setAttribute('aria-current', 'true');
  }
  const since = record.connectedAt instanceof Date ? record.connectedAt : null;
  const cells: Array<[string, string, string?]> = [
    ['Session', record._id + (isSelf ? ' (you)' : '')],
    ['Connected', since ? relativeTime(since, now) : '–', since?.toISOString()],
    ['Address', record.clientAddress ?? '–'],
    ['User agent', record.userAgent ?? '–'],
    ['Instance', record.instanceId ?? '–'],
  ];
  for (const [label, text, title] of cells) {
    const td = document.createElement('td');
    td.dataset.label = label;
    td.textContent = text;
    if (title) td.title = title;
    tr.append(td);
  }
  return tr;
}

/** Static structure only: no server data passes through here. */
function template(): DocumentFragment {
  const t = document.createElement('template');
  t.innerHTML = `
  <header class="bar">
    <h1>Connected clients</h1>
    <p class="status-line">Connection: <span class="status" data-testid="status" role="status" aria-live="polite"></span></p>
  </header>
  <main>
    <section class="summary" aria-label="Summary">
      <div class="card"><h2>Connections</h2><p class="big" data-testid="connection-count" aria-live="polite">–</p></div>
      <div class="card"><h2>Your session id</h2><p class="mono" data-testid="session-id">…</p><p class="note" data-testid="session-note"></p></div>
      <div class="card chart-card"><h2>Last 5 minutes</h2><svg data-testid="chart" class="chart" role="img" aria-label="Connection count over the last 5 minutes"></svg></div>
    </section>
    <section aria-label="Monitor access" class="access-section">
      <form data-testid="token-form" class="token-form">
        <label for="monitor-token">Monitor token</label>
        <input id="monitor-token" name="token" type="password" autocomplete="off" />
        <button type="submit">Use token</button>
        <button type="button" data-action="forget" class="secondary">Forget token</button>
      </form>
      <p class="access" data-testid="access" role="status"></p>
      <p class="access" data-testid="bridge-status" hidden></p>
    </section>
    <section aria-label="Connections">
      <table class="connections">
        <caption class="visually-hidden">Open DDP connections</caption>
        <thead><tr><th scope="col">Session</th><th scope="col">Connected</th><th scope="col">Address</th><th scope="col">User agent</th><th scope="col">Instance</th></tr></thead>
        <tbody data-testid="rows"></tbody>
      </table>
      <p class="empty">No connections visible.</p>
    </section>
  </main>`;
  return t.content;
}
