import type { ConnectionRecord } from './presence-source';

/**
 * The selected connection in full: what the table shortens (the raw user
 * agent, the exact connection time) shown on demand, after a click or Enter
 * on a row. Values are written with textContent.
 */
export function showDetails(panel: HTMLElement, record: ConnectionRecord): void {
  const entries: Array<[string, string]> = [
    ['Session', record._id],
    ['Connected at', record.connectedAt instanceof Date ? record.connectedAt.toISOString() : '–'],
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
