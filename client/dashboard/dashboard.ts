import { reportIdleness } from '../idle-reporter';
import { ConnectionList } from './connection-list';
import { ConnectionTable } from './connection-table';
import { showDetails } from './details-panel';
import { InstanceTotals } from './instance-totals';
import { ListControls } from './list-controls';
import { saveToken, takeTokenFromUrl } from './monitor-token';
import { PeopleList } from './people-list';
import { PeopleTable } from './people-table';
import type { ConnectionStatus, PresenceSource } from './presence-source';
import { RenderPacer } from './render-pacer';
import { StatsChart } from './stats-chart';
import { StatsStore, TOTAL_ID } from './stats-store';
import { SessionPanel, showNote } from './session-panel';
import { bridgeNote } from './status-notes';
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
 * Shape, one concern per part:
 * - state: ConnectionList, PeopleList and StatsStore (plain data fed by the
 *   source's document events; never read back from the DOM), plus the
 *   query in ListControls and the token;
 * - rendering: `render` draws every view from that state, paced by
 *   RenderPacer (a table draws only while its tab is shown); the notes'
 *   wording is in status-notes.ts;
 * - events: the source's (`sourceEvents`) and the page's (controls, tabs,
 *   token form) only change state and ask the pacer for a draw.
 * Every value from the server is written with textContent.
 */
export interface DashboardEnvironment {
  location: Location;
  history: History;
  storage: Storage;
}

/** How often relative times ("5 min ago") are refreshed while nothing else changes. */
const RELATIVE_TIME_REFRESH_MS = 2000;

export function mountDashboard(root: HTMLElement, source: PresenceSource, env: DashboardEnvironment): void {
  root.replaceChildren(dashboardTemplate());
  const $ = <T extends HTMLElement = HTMLElement>(id: string) => root.querySelector(`[data-testid="${id}"]`) as T;

  // State.
  let token = takeTokenFromUrl(env.location, env.history, env.storage);
  const pacer = new RenderPacer(render);
  const list = new ConnectionList(pacer.data);
  const stats = new StatsStore(pacer.data);
  const people = new PeopleList(pacer.data);

  // Views over that state.
  const table = new ConnectionTable($('table-scroll'), $('rows'), list, pacer.frame, { onSelect: (record) => showDetails($('details'), record) });
  const totals = new InstanceTotals($('instance-totals'), $('instance-filter'), stats);
  const chart = new StatsChart($('stats-chart'), stats);
  const peopleTable = new PeopleTable(
    { scroller: $('people-scroll'), body: $('people-rows'), summary: $('people-note'), count: $('people-count'), empty: $('people-empty'), sort: $('people-sort') },
    people,
    pacer.frame,
    { onSelect: (accountId) => showConnectionsOf(accountId) },
  );
  const sessionPanel = new SessionPanel({ sessionId: $('session-id'), sessionNote: $('session-note'), access: $('access'), listTools: $('list-tools') }, source);

  // The operator's events.
  const controls = new ListControls(
    { search: $('search'), instance: $('instance-filter'), sort: $('sort'), more: $('show-more'), accountFilter: $('account-filter') },
    (query) => {
      pacer.interactive();
      list.setSort(query.sort);
      chart.show(query.instanceId ?? TOTAL_ID);
      source.setParams({ token, list: query });
    },
  );
  const tabs = new ViewTabs(root.querySelector<HTMLElement>('[role="tablist"]')!, root, (view) => {
    table.setVisible(view === 'connections');
    peopleTable.setVisible(view === 'people');
    pacer.interactive();
  });
  peopleTable.setVisible(tabs.view === 'people');
  $('people-sort').addEventListener('change', pacer.interactive);
  function showConnectionsOf(accountId: string): void {
    controls.setAccount(accountId);
    tabs.select('connections');
  }
  listenToTokenForm($<HTMLFormElement>('token-form'), (next) => {
    token = next;
    saveToken(env.storage, token);
    source.setParams({ token, list: controls.current() });
    void sessionPanel.checkAccess(token);
  });

  function render(): void {
    table.render(); // each table draws only while its view is shown
    peopleTable.render();
    $('connections-empty').hidden = list.size > 0;
    const query = controls.current();
    const full = list.size >= query.limit;
    controls.showMoreIf(full);
    $('window-note').textContent = full ? `Showing the first ${list.size.toLocaleString('en-US')} matches (${query.sort} first).` : '';
    const hasStats = stats.get(TOTAL_ID) !== undefined;
    $('stats-section').hidden = !hasStats;
    if (hasStats) {
      totals.render();
      chart.draw();
    }
  }

  const setStatus = (status: ConnectionStatus) => {
    $('status').textContent = status;
    $('status').dataset.state = status;
  };
  setStatus('offline');

  const idleness = reportIdleness({ call: (method, ...args) => source.call(method, ...args), document: root.ownerDocument });
  const onSession = (id: string | null) => {
    table.setSelf(id);
    sessionPanel.session(id, token);
    idleness.session(id);
    pacer.frame();
  };

  source.start(
    {
      status: setStatus,
      session: onSession,
      reset: () => {
        list.clear();
        stats.clear();
        people.clear();
      },
      connections: list,
      stats,
      people,
      count: (count) => {
        const countEl = $('connection-count');
        countEl.textContent = count === null ? '–' : count.toLocaleString('en-US');
        countEl.dataset.count = count === null ? '' : String(count); // the raw number, for tests and scripts
      },
      bridge: (status) => {
        $('bridge-status').hidden = status === null;
        if (status) showNote($('bridge-status'), bridgeNote(status));
      },
    },
    { token, list: controls.current() },
  );

  // Relative times move on while nothing changes; only texts that differ are rewritten.
  setInterval(() => (tabs.view === 'people' ? peopleTable.refreshTimes() : table.refreshTimes()), RELATIVE_TIME_REFRESH_MS);
}

/** The token form: submit uses the typed token (empty: none), "Forget" drops it. The field is cleared either way. */
function listenToTokenForm(form: HTMLFormElement, useToken: (token: string | undefined) => void): void {
  const input = form.querySelector('input') as HTMLInputElement;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = input.value.trim() || undefined;
    input.value = '';
    useToken(next);
  });
  form.querySelector('[data-action="forget"]')!.addEventListener('click', () => useToken(undefined));
}
