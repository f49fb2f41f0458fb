import { reportIdleness } from '../idle-reporter';
import { PRESENCE_NAMES } from '../../imports/app/wire-contract';
import { ConnectionList } from './connection-list';
import { ConnectionTable } from './connection-table';
import { showDetails } from './details-panel';
import { InstanceTotals } from './instance-totals';
import { ListControls } from './list-controls';
import { saveToken, takeTokenFromUrl } from './monitor-token';
import { PeopleList } from './people-list';
import { PeopleTable } from './people-table';
import type { BridgeStatusView, ConnectionStatus, PresenceSource } from './presence-source';
import { StatsChart } from './stats-chart';
import { StatsStore, TOTAL_ID } from './stats-store';
import { dashboardTemplate } from './template';
import { ViewTabs } from './view-tabs';

/**
 * The dashboard: own session id, connection state, the count, per-instance
 * stats with a chart, and two views as tabs: a windowed, searchable,
 * virtualized list of connections, and the people online (one row per
 * account; choosing one filters the connections to that account). Written
 * once against PresenceSource, so it runs on the standalone client and on
 * Meteor's. The page's own connection reports its idleness
 * (`presence.setIdle`, idle-reporter.ts).
 *
 * Shape: state lives in ConnectionList, PeopleList and StatsStore (plain
 * data, fed by the source's document events); each view renders from that
 * state (never from the DOM) at most once per animation frame, and a table
 * only while its tab is shown; this function wires the events. Every value
 * from the server is written with textContent.
 */
/**
 * Data changes (a connect, a close, a stats tick) are drawn at most this
 * often; scrolling and typing are drawn on the next frame. At 200 connects
 * and closes per second, drawing every frame kept the main thread busy
 * (~75 layouts/s); a quiet list still shows a change on the next frame.
 */
export const DATA_RENDER_INTERVAL_MS = 250;
/** After the operator changes the query (search, filter, sort, more), its answer is drawn on the next frame for this long. */
export const INTERACTIVE_MS = 1500;

export interface DashboardEnvironment {
  location: Location;
  history: History;
  storage: Storage;
}

export function mountDashboard(root: HTMLElement, source: PresenceSource, env: DashboardEnvironment): void {
  root.replaceChildren(dashboardTemplate());
  const $ = <T extends Element>(id: string) => root.querySelector(`[data-testid="${id}"]`) as T;
  const form = $<HTMLFormElement>('token-form');
  const tokenInput = form.querySelector('input') as HTMLInputElement;
  const emptyNote = $<HTMLElement>('connections-empty');

  let token = takeTokenFromUrl(env.location, env.history, env.storage);
  let frameQueued = false;
  let lastRenderAt = -Infinity;
  let dataTimer: ReturnType<typeof setTimeout> | null = null;
  let interactiveUntil = -Infinity;
  const requestRender = () => {
    if (frameQueued) return;
    frameQueued = true;
    requestAnimationFrame(render);
  };
  const requestDataRender = () => {
    if (frameQueued || dataTimer) return;
    const now = performance.now();
    const wait = lastRenderAt + DATA_RENDER_INTERVAL_MS - now;
    if (wait <= 0 || now < interactiveUntil) return requestRender();
    dataTimer = setTimeout(() => {
      dataTimer = null;
      requestRender();
    }, wait);
  };

  const interactive = () => {
    interactiveUntil = performance.now() + INTERACTIVE_MS;
    requestRender();
  };

  const list = new ConnectionList(requestDataRender);
  const stats = new StatsStore(requestDataRender);
  const people = new PeopleList(requestDataRender);
  const table = new ConnectionTable($('table-scroll'), $('rows'), list, requestRender, { onSelect: (record) => showDetails($('details'), record) });
  const totals = new InstanceTotals($('instance-totals'), $('instance-filter'), stats);
  const chart = new StatsChart($('stats-chart'), stats);
  const controls = new ListControls(
    { search: $('search'), instance: $('instance-filter'), sort: $('sort'), more: $('show-more'), accountFilter: $('account-filter') },
    (query) => {
      interactive();
      list.setSort(query.sort);
      chart.show(query.instanceId ?? TOTAL_ID);
      source.setParams({ token, list: query });
    },
  );
  const tabs = new ViewTabs(root.querySelector('[role="tablist"]')!, root, (view) => {
    table.setVisible(view === 'connections');
    peopleTable.setVisible(view === 'people');
    interactive();
  });
  const peopleTable = new PeopleTable(
    { scroller: $('people-scroll'), body: $('people-rows'), summary: $('people-note'), count: $('people-count'), empty: $('people-empty'), sort: $('people-sort') },
    people,
    requestRender,
    {
      onSelect: (accountId) => {
        controls.setAccount(accountId);
        tabs.select('connections');
      },
    },
  );
  peopleTable.setVisible(tabs.view === 'people');
  $('people-sort').addEventListener('change', interactive);
  const idleness = reportIdleness({ call: (method, ...args) => source.call(method, ...args), document: root.ownerDocument });

  function render(): void {
    frameQueued = false;
    lastRenderAt = performance.now();
    table.render(); // each table draws only while its view is shown
    peopleTable.render();
    emptyNote.hidden = list.size > 0;
    const query = controls.current();
    const full = list.size >= query.limit;
    controls.showMoreIf(full);
    $('window-note').textContent = full ? `Showing the first ${list.size.toLocaleString('en-US')} matches (${query.sort} first).` : '';
    const hasStats = stats.get(TOTAL_ID) !== undefined;
    $<HTMLElement>('stats-section').hidden = !hasStats;
    if (hasStats) {
      totals.render();
      chart.draw();
    }
  }

  const setStatus = (status: ConnectionStatus) => {
    $<HTMLElement>('status').textContent = status;
    $<HTMLElement>('status').dataset.state = status;
  };
  setStatus('offline');

  const checkAccess = async () => {
    const access = $<HTMLElement>('access');
    let role = 'self';
    if (token) {
      try {
        role = String(await source.call(PRESENCE_NAMES.roleMethod, { token }));
      } catch {
        return; // connection dropped; checked again on the next session
      }
    }
    access.textContent = !token
      ? 'You see your own connection. A monitor token shows everyone.'
      : role === 'monitor' ? 'Monitor view: every connection.' : 'Token not accepted: showing your own connection only.';
    access.dataset.kind = !token ? 'info' : role === 'monitor' ? 'ok' : 'warning';
    $<HTMLElement>('list-tools').hidden = role !== 'monitor';
  };

  source.start(
    {
      status: setStatus,
      session: (id) => {
        table.setSelf(id);
        $('session-id').textContent = id ?? '…';
        $('session-note').textContent = '';
        requestRender();
        idleness.session(id);
        if (!id) return;
        void checkAccess();
        source.call(PRESENCE_NAMES.getSessionIdMethod).then(
          (fromMethod) => {
            if (fromMethod !== id) $('session-note').textContent = `getSessionId returned ${String(fromMethod)}, not the connected session`;
          },
          () => {},
        );
      },
      reset: () => {
        list.clear();
        stats.clear();
        people.clear();
      },
      connections: list,
      stats,
      people,
      count: (count) => {
        const countEl = $<HTMLElement>('connection-count');
        countEl.textContent = count === null ? '–' : count.toLocaleString('en-US');
        countEl.dataset.count = count === null ? '' : String(count); // the raw number, for tests and scripts
      },
      bridge: (status) => showBridge($('bridge-status'), status),
    },
    { token, list: controls.current() },
  );

  const useToken = (next: string | undefined) => {
    token = next;
    saveToken(env.storage, token);
    source.setParams({ token, list: controls.current() });
    void checkAccess();
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = tokenInput.value.trim() || undefined;
    tokenInput.value = '';
    useToken(next);
  });
  form.querySelector('[data-action="forget"]')!.addEventListener('click', () => useToken(undefined));

  // Relative times move on while nothing changes; only texts that differ are rewritten.
  setInterval(() => (tabs.view === 'people' ? peopleTable.refreshTimes() : table.refreshTimes()), 2000);
}

function showBridge(element: HTMLElement, status: BridgeStatusView | null): void {
  element.hidden = status === null;
  if (!status) return;
  element.textContent = !status.enabled
    ? 'Instances: this one only (no MQTT bridge configured).'
    : `MQTT bridge: ${status.connected ? 'connected to' : 'reconnecting to'} ${status.brokerUrl ?? '?'}; ${status.remoteInstances ?? 0} other instance(s) online.`;
  element.dataset.kind = status.enabled && !status.connected ? 'warning' : 'info';
}
