/**
 * The dashboard's static structure. No server data passes through here:
 * every value from the server is written later with textContent.
 *
 * Test hooks (data-testid): status, session-id, connection-count, search,
 * instance-filter, sort, rows (the tbody of connection-row rows),
 * instance-totals, stats-chart, details, access, bridge-status.
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
    <section aria-label="Connections">
      <form class="list-tools monitor-only" data-testid="list-tools" role="search" hidden>
        <label>Search <input type="search" data-testid="search" placeholder="session id, address, browser, instance" autocomplete="off" spellcheck="false" /></label>
        <label>Instance <select data-testid="instance-filter"><option value="">All instances</option></select></label>
        <label>Sort <select data-testid="sort"><option value="newest">Newest first</option><option value="oldest">Oldest first</option></select></label>
      </form>
      <p class="window-note" data-testid="window-note" aria-live="polite"></p>
      <div class="table-scroll" data-testid="table-scroll">
        <table class="connections">
          <caption class="visually-hidden">Open DDP connections</caption>
          <thead><tr><th scope="col">Session</th><th scope="col">Connected</th><th scope="col">Address</th><th scope="col">User agent</th><th scope="col">Instance</th></tr></thead>
          <tbody data-testid="rows"></tbody>
        </table>
      </div>
      <p class="empty">No connections visible.</p>
      <button type="button" class="secondary" data-testid="show-more" hidden>Show more</button>
      <dl class="details card" data-testid="details" hidden></dl>
    </section>
  </main>`;
  return t.content;
}
