/**
 * The dashboard's views (connections, people) as WAI-ARIA tabs: real
 * `<button role="tab">`s with `aria-selected` and `aria-controls`, one tab
 * stop for the list (roving tabindex), Left/Right/Home/End to move between
 * tabs, and only the selected `role="tabpanel"` shown.
 * See https://www.w3.org/WAI/ARIA/apg/patterns/tabs/ (automatic activation).
 *
 * Example:
 *   const tabs = new ViewTabs(tablist, root, (view) => requestRender());
 *   tabs.select('people');
 *
 * The template wires each tab to its panel by id (`aria-controls`); the
 * view name is the tab's `data-view`.
 */
export type DashboardView = 'connections' | 'people';

export class ViewTabs {
  private readonly tabs: HTMLButtonElement[];
  private current: DashboardView;

  /** `root`: where the panels are (by the ids in `aria-controls`). */
  constructor(
    tablist: HTMLElement,
    private readonly root: ParentNode,
    private readonly onChange: (view: DashboardView) => void = () => {},
  ) {
    this.tabs = [...tablist.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
    this.current = (this.tabs.find((tab) => tab.getAttribute('aria-selected') === 'true')?.dataset.view ?? 'connections') as DashboardView;
    tablist.addEventListener('click', (event) => {
      const tab = (event.target as Element | null)?.closest?.('[role="tab"]') as HTMLButtonElement | null;
      if (tab) this.select(tab.dataset.view as DashboardView);
    });
    tablist.addEventListener('keydown', (event) => {
      const at = this.tabs.findIndex((tab) => tab.dataset.view === this.current);
      const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: this.tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      const tab = this.tabs[(next + this.tabs.length) % this.tabs.length]!;
      this.select(tab.dataset.view as DashboardView);
      tab.focus();
    });
    this.show();
  }

  get view(): DashboardView {
    return this.current;
  }

  select(view: DashboardView): void {
    if (view === this.current) return;
    this.current = view;
    this.show();
    this.onChange(view);
  }

  private show(): void {
    for (const tab of this.tabs) {
      const selected = tab.dataset.view === this.current;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      const panel = this.root.querySelector<HTMLElement>(`[id="${tab.getAttribute('aria-controls')}"]`);
      if (panel) panel.hidden = !selected;
    }
  }
}
