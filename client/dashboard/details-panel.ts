import type { ConnectionRecord } from './presence-source';

/**
 * The selected connection in full: what the table shortens (the raw user
 * agent, the exact connection time) shown on demand, after a click or Enter
 * on a row. Values are written with textContent.
 */
export function showDetails(panel: HTMLElement, record: ConnectionRecord): void {
  const iso = (at: unknown) => (at instanceof Date ? at.toISOString() : '–');
  const entries: Array<[string, string]> = [
    ['Session', record._id],
    ['Account', record.accountId ?? 'anonymous'],
    ['Logged in at', iso(record.loggedInAt)],
    ['Activity', record.idle ? 'idle' : 'active'],
    ['Last activity', iso(record.lastActivity)],
    ['Connected at', iso(record.connectedAt)],
    ['Address', record.clientAddress ?? '–'],
    ['User agent', record.userAgent ?? '–'],
    ['Instance', record.instanceId ?? '–'],
  ];
  panel.replaceChildren(
    ...entries.flatMap(([term, value]) => [
      Object.assign(document.createElement('dt'), { textContent: term }),
      Object.assign(document.createElement('dd'), { textContent: value }),
    ]),
  );
  panel.dataset.sessionId = record._id;
  panel.hidden = false;
}
