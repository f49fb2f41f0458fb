/**
 * The dashboard's static structure. No server data passes through here:
 * every value from the server is written later with textContent.
 *
 * Test hooks (data-testid): status, session-id, connection-count, search,
 * instance-filter, sort, rows (the tbody of connection-row rows),
 * instance-totals, stats-chart, details, access, bridge-status;
 * connections-tab, people-tab, people-count, account-filter (with its
 * "Clear filter" button), people-view, people-sort, people-rows (the tbody
 * of person-row rows), people-note.
 */
export function dashboardTemplate(): DocumentFragment {
  const t = document.createElement('template');
  t.innerHTML = `
  <header class="bar">
    <h1>Connected clients</h1>
    <p class="status-line">Connection: <span class="status" data-testid="status" role="status" aria-live="polite"></span></p>
  </header>
  <main>
    <section class="summary" aria-label="Summary">
      <div class="card"><h2>Connections</h2><p class="big" data-testid="connection-count">–</p></div>
      <div class="card"><h2>Your session id</h2><p class="mono" data-testid="session-id">…</p><p class="note" data-testid="session-note"></p></div>
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
    <section class="monitor-only card" aria-label="Instances" data-testid="stats-section" hidden>
      <h2>Last 15 minutes</h2>
      <div class="chart" data-testid="stats-chart" role="img" aria-label="No history yet"></div>
      <table class="instances">
        <caption class="visually-hidden">Connections per instance</caption>
        <thead><tr><th scope="col">Instance</th><th scope="col">Status</th><th scope="col">Connections</th><th scope="col">Connects/s</th><th scope="col">Disconnects/s</th></tr></thead>
        <tbody data-testid="instance-totals"></tbody>
      </table>
    </section>
    <div class="view-tabs" role="tablist" aria-label="Views">
      <button type="button" role="tab" id="connections-tab" data-view="connections" data-testid="connections-tab" aria-controls="connections-view" aria-selected="true">Connections</button>
      <button type="button" role="tab" id="people-tab" data-view="people" data-testid="people-tab" aria-controls="people-view" aria-selected="false" tabindex="-1">People <span class="tab-count" data-testid="people-count"></span></button>
    </div>
    <section id="connections-view" role="tabpanel" aria-labelledby="connections-tab">
      <form class="list-tools monitor-only" data-testid="list-tools" role="search" hidden>
        <label>Search <input type="search" data-testid="search" placeholder="session id, account, address, browser, instance" autocomplete="off" spellcheck="false" /></label>
        <label>Instance <select data-testid="instance-filter"><option value="">All instances</option></select></label>
        <label>Sort <select data-testid="sort"><option value="newest">Newest first</option><option value="oldest">Oldest first</option></select></label>
      </form>
      <p class="account-filter" data-testid="account-filter" role="status" hidden>
        Connections of <strong data-field="account"></strong>
        <button type="button" class="secondary" data-action="clear-account">Clear filter</button>
      </p>
      <p class="window-note" data-testid="window-note" aria-live="polite"></p>
      <div class="table-scroll" data-testid="table-scroll">
        <table class="connections">
          <caption class="visually-hidden">Open DDP connections</caption>
          <thead><tr><th scope="col">Session</th><th scope="col">Account</th><th scope="col">Connected</th><th scope="col">Address</th><th scope="col">User agent</th><th scope="col">Instance</th></tr></thead>
          <tbody data-testid="rows"></tbody>
        </table>
      </div>
      <p class="empty" data-testid="connections-empty">No connections visible.</p>
      <button type="button" class="secondary" data-testid="show-more" hidden>Show more</button>
      <dl class="details card" data-testid="details" hidden></dl>
    </section>
    <section id="people-view" role="tabpanel" aria-labelledby="people-tab" data-testid="people-view" hidden>
      <div class="list-tools">
        <label>Sort <select data-testid="people-sort"><option value="status">Online first, then idle</option><option value="since">Online longest first</option></select></label>
      </div>
      <p class="window-note" data-testid="people-note" aria-live="polite"></p>
      <div class="table-scroll" data-testid="people-scroll">
        <table class="connections people">
          <caption class="visually-hidden">People online, one row per account; choose an account to see its connections</caption>
          <thead><tr><th scope="col">Account</th><th scope="col">Status</th><th scope="col">Connections</th><th scope="col">Since</th><th scope="col">Last activity</th></tr></thead>
          <tbody data-testid="people-rows"></tbody>
        </table>
      </div>
      <p class="empty" data-testid="people-empty">No one is logged in, or this view needs a monitor token.</p>
    </section>
  </main>`;
  return t.content;
}
