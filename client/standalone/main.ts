/** Standalone entry (bundled by esbuild into client/dist): the dashboard over a WebSocket to this server. */
import '../dashboard/dashboard.css';
import { mountDashboard } from '../dashboard/dashboard';
import { WebSocketPresenceSource } from '../websocket-presence-source';

// DDP lives next to the page: same host, same path prefix (ROOT_URL's path).
const base = new URL('.', window.location.href);
const wsUrl = `${base.protocol === 'https:' ? 'wss' : 'ws'}://${base.host}${base.pathname}websocket`;

mountDashboard(document.getElementById('app')!, new WebSocketPresenceSource(wsUrl), {
  location: window.location,
  history: window.history,
  storage: window.sessionStorage,
});
