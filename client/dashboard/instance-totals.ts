import type { StatsStore } from './stats-store';
import { TOTAL_ID } from './stats-store';

/**
 * Per-instance totals (from `presence.stats`): one row per instance and one
 * for the whole fleet, and the options of the instance filter. Rows are
 * keyed by instance id and only their texts are rewritten, once a second at
 * most (the stats change once a second).
 */
export class InstanceTotals {
  private readonly rows = new Map<string, HTMLTableRowElement>();

  constructor(
    private readonly body: HTMLTableSectionElement,
    private readonly filter: HTMLSelectElement,
    private readonly stats: StatsStore,
  ) {}

  render(): void {
    const instances = this.stats.instances();
    const total = this.stats.get(TOTAL_ID);
    const shown = total ? [...instances, total] : instances;
    const ids = new Set(shown.map((s) => s.id));
    for (const [id, tr] of this.rows) {
      if (ids.has(id)) continue;
      tr.remove();
      this.rows.delete(id);
    }
    let previous: HTMLTableRowElement | null = null;
    for (const s of shown) {
      const tr = this.rowFor(s.id);
      const cells = [s.id === TOTAL_ID ? 'All instances' : s.id, s.online ? 'online' : 'offline', format(s.connections), rate(s.connectsPerSecond), rate(s.disconnectsPerSecond)];
      cells.forEach((text, i) => {
        const td = tr.cells[i]!;
        if (td.textContent !== text) td.textContent = text;
      });
      tr.dataset.online = String(s.online);
      // Instances by id, the total last; a row moves only when it is out of place (moving would drop a selection).
      const expected: Element | null = previous ? previous.nextElementSibling : this.body.firstElementChild;
      if (expected !== tr) {
        if (previous) previous.after(tr);
        else this.body.prepend(tr);
      }
      previous = tr;
    }
    this.syncFilter(instances.map((s) => s.id));
  }

  private rowFor(id: string): HTMLTableRowElement {
    let tr = this.rows.get(id);
    if (!tr) {
      tr = document.createElement('tr');
      tr.dataset.testid = 'instance-row';
      tr.dataset.instanceId = id;
      if (id === TOTAL_ID) tr.className = 'total';
      for (const label of ['Instance', 'Status', 'Connections', 'Connects/s', 'Disconnects/s']) {
        const td = document.createElement('td');
        td.dataset.label = label;
        tr.append(td);
      }
      this.rows.set(id, tr);
    }
    return tr;
  }

  /** The filter lists every instance the stats know, keeping the current choice even if it went away. */
  private syncFilter(ids: string[]): void {
    const current = this.filter.value;
    const wanted = ['', ...ids];
    if (current && !ids.includes(current)) wanted.push(current);
    const existing = [...this.filter.options].map((o) => o.value);
    if (existing.join('\n') === wanted.join('\n')) return;
    this.filter.replaceChildren(...wanted.map((id) => new Option(id === '' ? 'All instances' : id, id)));
    this.filter.value = current;
  }
}

const format = (n: number) => n.toLocaleString('en-US');
const rate = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
