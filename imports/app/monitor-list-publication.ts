import { BatchedPublisher, PacedStep, processPublishScheduler, PublishScheduler } from './batched-publisher';
import type { HostPublishThis } from './host';
import { recordMatcher, selectsEverything, type ListOptions } from './list-options';
import { LiveWindow, type RecordScan, type WindowOperation } from './live-window';
import type { PresenceFields, PresenceView } from './presence-view';

/**
 * A monitor's `list.connectedUsers`: the merged presence view, live, in one of
 * three shapes chosen by its (already validated) options:
 * - no `limit`, no filter: every record (what monitors always got);
 * - no `limit`, `search`/`instanceId`: every matching record;
 * - `limit`: the first `limit` matches in `sort` order, a LiveWindow.
 * Every shape is paced by a PublishScheduler (one document budget per
 * event-loop turn, shared by every subscription): it starts (takes its
 * initial set from the view) in a later turn, sends that set over the
 * following turns (a BatchedPublisher), then `ready`, and stays live.
 *
 * Why separate from presence.ts: that file registers the publication and
 * applies the permission policy; this one only decides what a monitor sees.
 *
 * Example: `publishMonitorList(this, view, { sort: 'newest', limit: 50 }, 'connectedUsers', scheduler)`.
 *
 * `pacing` is the scheduler to share, or a number: the documents-per-turn
 * budget of the process-wide scheduler with that budget (what
 * PresenceOptions.publishBatchSize passes); absent, the process-wide default
 * (DEFAULT_PUBLISH_DOCUMENTS_PER_TURN).
 *
 * Caveats: the filtered full list remembers the ids it sent (O(matches)); the
 * window costs O(limit), except that a record leaving a full window costs one
 * O(n) scan of the view for the next match (see live-window.ts).
 */
export function publishMonitorList(
  sub: HostPublishThis,
  view: PresenceView,
  options: ListOptions,
  collection: string,
  pacing?: PublishScheduler | number,
): void {
  const scheduler = pacing instanceof PublishScheduler ? pacing : processPublishScheduler(pacing);
  const out = new BatchedPublisher(sub, collection, scheduler);
  let stopHandle: (() => void) | null = null;
  // Set once the subscription stops. A subscription may stop before its start runs (its session closed while
  // the handler awaited the policy or other instances' records): the start must then observe nothing, for ever.
  let stopped = false;
  // The start (observe's replay, or a window's scan: O(records)) waits for its turn too: 50 monitors
  // subscribing in one read of their sockets would otherwise snapshot 19,000 records each in that turn.
  const start = new PacedStep(
    () => {
      if (stopped) return;
      if (options.limit !== undefined) stopHandle = followWindow(view, options, options.limit, out);
      else if (selectsEverything(options)) stopHandle = followAll(view, out);
      else stopHandle = followMatches(view, options, out);
      out.goLive();
    },
    () => view.count,
    (error) => out.fail(error),
  );
  scheduler.add(start);
  sub.onStop(() => {
    stopped = true;
    scheduler.remove(start);
    stopHandle?.();
    out.stop();
  });
}

function followAll(view: PresenceView, out: BatchedPublisher): () => void {
  const handle = view.observe({
    added: (id, fields) => out.queue(id, fields),
    changed: (id, fields) => out.changed(id, fields),
    removed: (id) => out.removed(id),
  });
  return () => handle.stop();
}

function followMatches(view: PresenceView, options: ListOptions, out: BatchedPublisher): () => void {
  const matches = recordMatcher(options);
  /** Ids this subscriber holds (or has queued). */
  const shown = new Set<string>();
  const handle = view.observe({
    added: (id, fields) => {
      if (!matches(id, fields)) return;
      shown.add(id);
      out.queue(id, fields);
    },
    changed: (id, changes) => {
      const fields = currentFields(view, id);
      const matchesNow = fields !== undefined && matches(id, fields);
      if (shown.has(id) && matchesNow) out.changed(id, changes);
      else if (shown.has(id)) {
        shown.delete(id);
        out.removed(id);
      } else if (matchesNow) {
        shown.add(id);
        out.added(id, fields);
      }
    },
    removed: (id) => {
      if (shown.delete(id)) out.removed(id);
    },
  });
  return () => handle.stop();
}

function followWindow(view: PresenceView, options: ListOptions, limit: number, out: BatchedPublisher): () => void {
  const window = new LiveWindow({ limit, sort: options.sort, matches: recordMatcher(options) });
  const scan: RecordScan = (visit) => view.forEach(visit);
  const apply = (ops: WindowOperation[]) => {
    for (const op of ops) {
      if (op.type === 'added') out.added(op.id, op.fields);
      else if (op.type === 'changed') out.changed(op.id, op.fields);
      else out.removed(op.id);
    }
  };
  // The window is filled from one bounded scan below, so the view's replay of
  // every record is skipped (it would build a document per remote record).
  const handle = view.observe(
    {
      added: (id, fields) => apply(window.added(id, fields)),
      changed: (id, changes) => {
        const fields = currentFields(view, id);
        if (fields) apply(window.changed(id, fields, changes, scan));
      },
      removed: (id) => apply(window.removed(id, scan)),
    },
    { replay: false },
  );
  window.fill(scan);
  for (const [id, fields] of window.entries()) out.queue(id, fields);
  return () => handle.stop();
}

/** The view's record for `id` without its `_id` (the shape observers get). */
function currentFields(view: PresenceView, id: string): PresenceFields | undefined {
  const record = view.get(id);
  if (!record) return undefined;
  const { _id, ...fields } = record;
  return fields;
}
