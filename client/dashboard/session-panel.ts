import { PRESENCE_NAMES } from '../../imports/app/wire-contract';
import type { PresenceSource } from './presence-source';
import { accessNote, type Note } from './status-notes';

export interface SessionPanelElements {
  sessionId: HTMLElement;
  /** Says when `getSessionId` disagrees with the session the page connected as. */
  sessionNote: HTMLElement;
  /** What this viewer may see (accessNote). */
  access: HTMLElement;
  /** Shown to monitors only. */
  listTools: HTMLElement;
}

/**
 * The viewer's own session: its id (from the `connected` frame, checked
 * against `getSessionId`) and what the monitor token lets it see (asked of
 * the server with `presence.role`, never guessed from the token).
 */
export class SessionPanel {
  constructor(
    private readonly elements: SessionPanelElements,
    private readonly source: Pick<PresenceSource, 'call'>,
  ) {}

  /** A DDP session began (or, with null, ended). */
  session(id: string | null, token: string | undefined): void {
    const { sessionId, sessionNote } = this.elements;
    sessionId.textContent = id ?? '…';
    sessionNote.textContent = '';
    if (!id) return;
    void this.checkAccess(token);
    this.source.call(PRESENCE_NAMES.getSessionIdMethod).then(
      (fromMethod) => {
        if (fromMethod !== id) sessionNote.textContent = `getSessionId returned ${String(fromMethod)}, not the connected session`;
      },
      () => {}, // the connection dropped; the next session checks again
    );
  }

  /** Asks the server what `token` grants, and says so. */
  async checkAccess(token: string | undefined): Promise<void> {
    let role = 'self';
    if (token) {
      try {
        role = String(await this.source.call(PRESENCE_NAMES.roleMethod, { token }));
      } catch {
        return; // connection dropped; checked again on the next session
      }
    }
    const note = accessNote(token, role);
    showNote(this.elements.access, note);
    this.elements.listTools.hidden = !note.monitor;
  }
}

export function showNote(element: HTMLElement, note: Note): void {
  element.textContent = note.text;
  element.dataset.kind = note.kind;
}
