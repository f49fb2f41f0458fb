import type { HostPublishThis } from './host';
import type { PresenceFields } from './presence-view';

/**
 * Publishes one collection's documents to one subscription: the initial set in
 * batches that yield to the event loop, then `ready`, with live changes
 * applied all along.
 *
 * Why: a full-list monitor subscribing at 19,000 connections used to send
 * 19,000 `added` in one synchronous run; 50 such monitors stalled the event
 * loop for seconds and a bystander's ping waited up to the heartbeat timeout
 * (issue 11). Between batches (`setImmediate`, after I/O) other sessions are
 * served.
 *
 * Live changes while the initial set is still going out:
 * - `removed` of a document not sent yet drops it: nothing is sent for it;
 * - `changed` of a document not sent yet is folded into what will be sent;
 * - anything about a document already sent (or added live) goes out at once.
 * So the subscriber never sees `changed`/`removed` before `added`, nor a
 * document after its removal. DDP.md: "ready" once the initial set is sent.
 *
 * Example:
 *   const out = new BatchedPublisher(this, 'connectedUsers');
 *   const handle = view.observe({ added: (id, f) => out.queue(id, f), … });  // initial set
 *   out.goLive(); // from now on: added/changed/removed are live; batches go out; then ready
 *
 * Caveats: `queue` is only for the initial set, before `goLive`; afterwards
 * use `added`. It holds a reference to each queued fields object until sent
 * (never mutating it), so it costs O(initial set) until the batches are out.
 */
export const DEFAULT_PUBLISH_BATCH_SIZE = 500;

export class BatchedPublisher {
  /** Initial documents not sent yet, in order. */
  private readonly pending = new Map<string, PresenceFields>();
  private live = false;
  private stopped = false;
  private timer: NodeJS.Immediate | null = null;

  constructor(
    private readonly sub: Pick<HostPublishThis, 'added' | 'changed' | 'removed' | 'ready'>,
    private readonly collection: string,
    private readonly batchSize = DEFAULT_PUBLISH_BATCH_SIZE,
  ) {}

  /** Initial documents not yet sent. */
  get backlog(): number {
    return this.pending.size;
  }

  /** Add a document to the initial set (before `goLive`). */
  queue(id: string, fields: PresenceFields): void {
    if (this.live) return this.added(id, fields);
    this.pending.set(id, fields);
  }

  /** The initial set is complete: start sending it; `ready` follows its last batch. */
  goLive(): void {
    if (this.live) return;
    this.live = true;
    this.sendBatch();
  }

  added(id: string, fields: PresenceFields): void {
    if (this.stopped) return;
    this.sub.added(this.collection, id, fields);
  }

  changed(id: string, changes: PresenceFields): void {
    if (this.stopped) return;
    const queued = this.pending.get(id);
    if (queued) return void this.pending.set(id, applyChanges(queued, changes));
    this.sub.changed(this.collection, id, changes);
  }

  removed(id: string): void {
    if (this.stopped) return;
    if (this.pending.delete(id)) return;
    this.sub.removed(this.collection, id);
  }

  /** The subscription stopped: send nothing more, drop the backlog. */
  stop(): void {
    this.stopped = true;
    this.pending.clear();
    if (this.timer) clearImmediate(this.timer);
    this.timer = null;
  }

  private sendBatch(): void {
    this.timer = null;
    if (this.stopped) return;
    let sent = 0;
    for (const [id, fields] of this.pending) {
      if (sent++ === this.batchSize) break;
      this.pending.delete(id);
      this.sub.added(this.collection, id, fields);
    }
    if (this.pending.size > 0) this.timer = setImmediate(() => this.sendBatch());
    else this.sub.ready();
  }
}

/** A new fields object: `changes` over `fields`, where an undefined value removes the field. */
function applyChanges(fields: PresenceFields, changes: PresenceFields): PresenceFields {
  const merged: Record<string, unknown> = { ...fields, ...changes };
  for (const [key, value] of Object.entries(changes)) if (value === undefined) delete merged[key];
  return merged as PresenceFields;
}
