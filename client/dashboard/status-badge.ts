import type { PersonStatus } from '../../imports/app/wire-contract';

/**
 * A status badge ("online", "idle") for people and connections. The word
 * itself is the badge, so it reads without colour (WCAG 1.4.1); the colour
 * and border (dashboard.css, `.badge[data-status]`) only repeat it.
 */
export function statusBadge(status: PersonStatus, testid: string): HTMLSpanElement {
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.dataset.status = status;
  badge.dataset.testid = testid;
  badge.textContent = status;
  return badge;
}
