import type { ListQuery } from './presence-source';

/**
 * The monitor's tools over the list: search, instance filter, account filter,
 * sort and "show more". Together they describe the window of
 * `list.connectedUsers` to subscribe to; every change hands a new ListQuery
 * to `onChange`.
 *
 * The account filter is set from the people view (`setAccount`), shown with
 * the account's name and a "Clear filter" button. Setting it clears the
 * search: "alice's connections" should not silently also need to match an
 * old search text.
 *
 * Why a window of `pageSize` rows growing to `maxRows`: the server publishes
 * (and holds in its merge box) only the window, so a monitor costs the
 * window's size, not the fleet's. Beyond `maxRows` (the server's own limit)
 * the operator narrows the search instead.
 */
export const LIST_CONTROL_DEFAULTS = {
  /** Rows asked for at first, and added by "Show more". */
  pageSize: 200,
  /** The server's maximum `limit` (LIST_OPTION_LIMITS.maxLimit). */
  maxRows: 1000,
  /** Typing pause before the search is sent: one subscription per burst of keys, not per key (people type ~5 keys/s). */
  searchDebounceMs: 80,
} as const;

export interface ListControlElements {
  search: HTMLInputElement;
  instance: HTMLSelectElement;
  sort: HTMLSelectElement;
  more: HTMLButtonElement;
  /** Shown while an account filter is set: holds `[data-field="account"]` and a `[data-action="clear-account"]` button. */
  accountFilter: HTMLElement;
}

export class ListControls {
  private query: ListQuery = { sort: 'newest', limit: LIST_CONTROL_DEFAULTS.pageSize };
  private searchTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly elements: ListControlElements,
    private readonly onChange: (query: ListQuery) => void,
  ) {
    elements.search.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.update({ search: elements.search.value.trim() || undefined }), LIST_CONTROL_DEFAULTS.searchDebounceMs);
    });
    // Enter sends at once.
    elements.search.form?.addEventListener('submit', (event) => {
      event.preventDefault();
      clearTimeout(this.searchTimer);
      this.update({ search: elements.search.value.trim() || undefined });
    });
    elements.instance.addEventListener('change', () => this.update({ instanceId: elements.instance.value || undefined }));
    elements.sort.addEventListener('change', () => this.update({ sort: elements.sort.value === 'oldest' ? 'oldest' : 'newest' }));
    elements.accountFilter.querySelector('[data-action="clear-account"]')!.addEventListener('click', () => {
      this.setAccount(undefined);
      elements.search.focus(); // the button just hid itself: keep focus in the list tools
    });
    elements.more.addEventListener('click', () =>
      this.onChange((this.query = { ...this.query, limit: Math.min(LIST_CONTROL_DEFAULTS.maxRows, this.query.limit + LIST_CONTROL_DEFAULTS.pageSize) })),
    );
  }

  current(): ListQuery {
    return this.query;
  }

  /** Only this account's connections (undefined: everyone's). */
  setAccount(accountId: string | undefined): void {
    const { accountFilter, search } = this.elements;
    accountFilter.hidden = accountId === undefined;
    accountFilter.querySelector('[data-field="account"]')!.textContent = accountId ?? '';
    if (accountId !== undefined && search.value !== '') {
      clearTimeout(this.searchTimer);
      search.value = '';
      this.update({ accountId, search: undefined });
    } else this.update({ accountId });
  }

  /** After a render: offer "Show more" only when the window is full and may grow. */
  showMoreIf(windowIsFull: boolean): void {
    this.elements.more.hidden = !(windowIsFull && this.query.limit < LIST_CONTROL_DEFAULTS.maxRows);
  }

  /** A new filter starts from the first page again. */
  private update(change: Partial<ListQuery>): void {
    const next: ListQuery = { ...this.query, ...change, limit: LIST_CONTROL_DEFAULTS.pageSize };
    const same = (['search', 'instanceId', 'accountId', 'sort', 'limit'] as const).every((key) => next[key] === this.query[key]);
    if (same) return;
    this.query = next;
    this.onChange(next);
  }
}
