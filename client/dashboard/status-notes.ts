import type { BridgeStatusView } from './presence-source';

/**
 * The sentences the dashboard shows about its own state: what this viewer
 * may see, and which instances the view covers. Pure (state in, text out),
 * so the wording is unit-tested in Node; the dashboard only puts the text
 * and the `kind` (info / ok / warning, styled by dashboard.css) on the page.
 */
export type NoteKind = 'info' | 'ok' | 'warning';

export interface Note {
  text: string;
  kind: NoteKind;
}

/** `role`: what `presence.role` answered for the token ('monitor' or 'self'); ignored without a token. */
export function accessNote(token: string | undefined, role: string): Note & { monitor: boolean } {
  if (!token) return { text: 'You see your own connection. A monitor token shows everyone.', kind: 'info', monitor: false };
  if (role === 'monitor') return { text: 'Monitor view: every connection.', kind: 'ok', monitor: true };
  return { text: 'Token not accepted: showing your own connection only.', kind: 'warning', monitor: false };
}

export function bridgeNote(status: BridgeStatusView): Note {
  if (!status.enabled) return { text: 'Instances: this one only (no MQTT bridge configured).', kind: 'info' };
  const state = status.connected ? 'connected to' : 'reconnecting to';
  return {
    text: `MQTT bridge: ${state} ${status.brokerUrl ?? '?'}; ${status.remoteInstances ?? 0} other instance(s) online.`,
    kind: status.connected ? 'info' : 'warning',
  };
}
