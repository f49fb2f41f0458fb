import type { HostPublishThis } from './host';
import type { PresenceFields } from './presence-view';

/**
 * Publishes one collection's documents to one subscription: the initial set
 * paced by a PublishScheduler (below), then `ready`, with live changes
 * applied all along.
 *
 * Why: a full-list monitor subscribing at 19,000 connections used to send
 * 19,000 `added` in one synchronous run; 50 such monitors stalled the event
 * loop for seconds and a bystander's ping waited up to the heartbeat timeout
 * (issue 11). Between turns (`setImmediate`, after I/O) other sessions are
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
 *   const out = new BatchedPublisher(this, 'connectedUsers', scheduler);
 *   const handle = view.observe({ added: (id, f) => out.queue(id, f), … });  // initial set
 *   out.goLive(); // from now on: added/changed/removed are live; the set goes out; then ready
 *
 * Caveats: `queue` is only for the initial set, before `goLive`; afterwards
 * use `added`. It holds a reference to each queued fields object until sent
 * (never mutating it), so it costs O(initial set) until the set is out.
 */
/** `Fields`: the documents' fields without `_id` (presence records by default; people documents too). */
export class BatchedPublisher<Fields extends object = PresenceFields> implements PacedWork {
  /** Initial documents not sent yet, in order. */
  private readonly pending = new Map<string, Fields>();
  private live = false;
  private stopped = false;
  private readySent = false;

  constructor(
    private readonly sub: Pick<HostPublishThis, 'added' | 'changed' | 'removed' | 'ready' | 'error'>,
    private readonly collection: string,
    private readonly scheduler: PublishScheduler = processPublishScheduler(),
  ) {}

  /** Initial documents not yet sent. */
  get backlog(): number {
    return this.pending.size;
  }

  get finished(): boolean {
    return this.stopped || this.pending.size === 0;
  }

  /** Add a document to the initial set (before `goLive`). */
  queue(id: string, fields: Fields): void {
    if (this.live) return this.added(id, fields);
    this.pending.set(id, fields);
  }

  /** The initial set is complete: the scheduler sends it from the next turn on; `ready` follows its last document. */
  goLive(): void {
    if (this.live || this.stopped) return;
    this.live = true;
    if (this.pending.size === 0) this.finish();
    else this.scheduler.add(this);
  }

  added(id: string, fields: Fields): void {
    if (this.stopped) return;
    this.sub.added(this.collection, id, fields as Record<string, unknown>);
  }

  changed(id: string, changes: Partial<Fields>): void {
    if (this.stopped) return;
    const queued = this.pending.get(id);
    if (queued) return void this.pending.set(id, applyChanges(queued, changes));
    this.sub.changed(this.collection, id, changes);
  }

  removed(id: string): void {
    if (this.stopped) return;
    if (this.pending.delete(id)) {
      // The last pending one gone: the initial set is out, so `ready` now rather than at a turn that would send nothing.
      if (this.pending.size === 0 && this.live) this.finish();
      return;
    }
    this.sub.removed(this.collection, id);
  }

  /** The subscription stopped: send nothing more, drop the backlog, leave the scheduler. */
  stop(): void {
    this.stopped = true;
    this.pending.clear();
    this.scheduler.remove(this);
  }

  /** @internal the scheduler's turn: send up to `max` of the initial set (at least one, then until `timeUp`); `ready` after the last. */
  runSlice(max: number, timeUp: () => boolean): number {
    if (this.stopped) return 0;
    let sent = 0;
    for (const [id, fields] of this.pending) {
      if (sent === max || (sent > 0 && timeUp())) break;
      this.pending.delete(id);
      sent++;
      this.sub.added(this.collection, id, fields as Record<string, unknown>);
      if (this.stopped) return sent; // stopped by what that frame caused (the session closed)
    }
    if (this.pending.size === 0) this.finish();
    return sent;
  }

  /** @internal `runSlice` threw: Meteor's answer to a failing publication, `nosub` with the error. */
  fail(error: unknown): void {
    if (this.stopped) return;
    this.stop();
    this.sub.error(error instanceof Error ? error : new Error(String(error)));
  }

  private finish(): void {
    this.scheduler.remove(this);
    if (this.readySent) return;
    this.readySent = true;
    this.sub.ready();
  }
}

/** What a PublishScheduler paces: one subscription's initial set (a BatchedPublisher), or a one-off step (a PacedStep). */
export interface PacedWork {
  /** Nothing left to do (or stopped): the scheduler drops it. */
  readonly finished: boolean;
  /**
   * Do up to `max` (≥ 1) documents' worth of work now, stopping early once
   * `timeUp()` (after at least one); returns how much it did (more than `max`
   * only for a step that cannot be split).
   */
  runSlice(max: number, timeUp: () => boolean): number;
  /** `runSlice` threw: stop, and tell the subscriber. */
  fail(error: unknown): void;
}

/**
 * A one-off step run in the scheduler's turn and charged `cost()` documents
 * of its budget, e.g. a publication's start, whose snapshot of the records
 * (the view's replay, a window's scan) cannot be split. Charged one document
 * per record, which overstates it (at 19,000 records a start took 4–10 ms,
 * 10–30× less than sending them): a big start is the last thing in its
 * turn, so 50 monitors subscribing at once start one per turn, not all in
 * the turn their `sub`s arrived in (340 ms measured; issue 11).
 *
 * Example: `scheduler.add(new PacedStep(() => follow(), () => view.count, (e) => out.fail(e)))`.
 */
export class PacedStep implements PacedWork {
  finished = false;

  constructor(
    private readonly run: () => void,
    private readonly cost: () => number,
    private readonly onError: (error: unknown) => void,
  ) {}

  runSlice(): number {
    this.finished = true;
    const cost = this.cost();
    this.run();
    return cost;
  }

  fail(error: unknown): void {
    this.finished = true;
    this.onError(error);
  }
}

/**
 * Documents the initial sets of all subscriptions together send in one
 * event-loop turn, by default (PresenceOptions.publishBatchSize overrides it).
 * About 6 µs each on the 2-core bench machine (merge box, JSON, ws frame, a
 * share of one corked write per socket): with 50 full-list monitors at 19,000
 * connections a turn took 3.0 ms at p50, 4.6 ms at p90 (1,000: 5.9 and
 * 11 ms), and the set went out no slower. Lower: shorter turns, more turns
 * and writes for the same set. GC pauses (the merge boxes' growth) come on
 * top, whatever the budget.
 */
export const DEFAULT_PUBLISH_DOCUMENTS_PER_TURN = 500;

/**
 * A turn also ends once it has run this long, whatever is left of its
 * budget, by default. Why: during V8's incremental marking (the heap grows by
 * ~13 MB per full-list monitor at 19,000 connections) every allocation pays
 * marking steps, and 500 documents took 45–66 ms a turn, back to back for
 * half a second. Normal turns (3 ms) never reach it.
 */
export const DEFAULT_PUBLISH_MAX_TURN_MS = 5;

export interface PublishSchedulerOptions {
  /** Documents per turn, shared by every subscription (default DEFAULT_PUBLISH_DOCUMENTS_PER_TURN, a positive integer). */
  documentsPerTurn?: number;
  /** A turn ends once it has run this long, checked after each document (default DEFAULT_PUBLISH_MAX_TURN_MS; Infinity: the budget alone). */
  maxTurnMs?: number;
  /** Milliseconds, for `maxTurnMs` (default performance.now; tests pass a fake). */
  now?: () => number;
}

/**
 * Paces the initial sets of many subscriptions with one document budget per
 * event-loop turn, shared round-robin: each turn (a `setImmediate`, so after
 * the pending I/O) every waiting publisher gets an equal share of the budget
 * in turn, and one that does not finish goes to the back of the line. The
 * turn also ends at `maxTurnMs`.
 *
 * Why one budget for all: per-subscription batches (500 each) let 50 monitors
 * subscribing at once send 25,000 frames in one turn, 400–1,000 ms stalls
 * (issue 11). The cost of a turn now depends on the budget only.
 *
 * Example: `const scheduler = new PublishScheduler({ documentsPerTurn: 500 }); new BatchedPublisher(sub, 'c', scheduler)`.
 * Caveats: the budget counts documents, not bytes; `maxTurnMs` bounds the
 * rest, but a step that cannot be split (a start) and a GC pause can exceed
 * it. A publisher that throws is dropped (its `fail`: `nosub` with the
 * error, which the host logs); the others go on.
 */
export class PublishScheduler {
  readonly documentsPerTurn: number;
  readonly maxTurnMs: number;
  private readonly now: () => number;
  /** Waiting publishers in round-robin order: the first is served next. */
  private readonly waiting = new Set<PacedWork>();
  private timer: NodeJS.Immediate | null = null;
  private deadline = 0;
  /** One function for every slice: is this turn's time up? */
  private readonly timeUp = () => this.now() >= this.deadline;

  constructor(options: PublishSchedulerOptions = {}) {
    this.documentsPerTurn = options.documentsPerTurn ?? DEFAULT_PUBLISH_DOCUMENTS_PER_TURN;
    this.maxTurnMs = options.maxTurnMs ?? DEFAULT_PUBLISH_MAX_TURN_MS;
    this.now = options.now ?? (() => performance.now());
    if (!Number.isInteger(this.documentsPerTurn) || this.documentsPerTurn < 1) {
      throw new RangeError(`documentsPerTurn must be a positive integer, got ${this.documentsPerTurn}`);
    }
    if (!(this.maxTurnMs > 0)) throw new RangeError(`maxTurnMs must be positive, got ${this.maxTurnMs}`);
  }

  /** Publishers with documents still to send. */
  get size(): number {
    return this.waiting.size;
  }

  /** Send this publisher's documents from the next turn on, until it is `finished`. */
  add(publisher: PacedWork): void {
    this.waiting.add(publisher);
    this.timer ??= setImmediate(runTurn, this);
  }

  /** Leave the line (stopped, or finished early). */
  remove(publisher: PacedWork): void {
    this.waiting.delete(publisher);
    if (this.waiting.size === 0 && this.timer) {
      clearImmediate(this.timer);
      this.timer = null;
    }
  }

  /** @internal one turn: the budget, shared round-robin */
  runTurn(): void {
    this.timer = null;
    this.deadline = this.now() + this.maxTurnMs;
    let budget = this.documentsPerTurn;
    // An equal share for each at the start of the turn; what finishers leave goes on round-robin.
    const share = Math.max(1, Math.floor(budget / Math.max(1, this.waiting.size)));
    try {
      while (budget > 0 && this.waiting.size > 0 && !(budget < this.documentsPerTurn && this.timeUp())) {
        const publisher = this.waiting.values().next().value as PacedWork;
        this.waiting.delete(publisher);
        let sent = 0;
        try {
          sent = publisher.runSlice(Math.min(share, budget), this.timeUp);
        } catch (error) {
          publisher.fail(error); // the subscriber gets nosub; the host logs the error (Meteor's "Exception from sub")
        }
        // At least 1: a publisher that sends nothing cannot keep the turn going. More than what
        // remained (a step that cannot be split) ends the turn.
        budget -= Math.max(1, sent);
        if (!publisher.finished) this.waiting.add(publisher);
      }
    } finally {
      if (this.waiting.size > 0) this.timer ??= setImmediate(runTurn, this);
    }
  }
}

function runTurn(scheduler: PublishScheduler): void {
  scheduler.runTurn();
}

/**
 * The process's scheduler for a given budget, made on first use. One per
 * process because the event loop is: every publication that uses it shares
 * the budget. Tests and hosts that want their own pass a PublishScheduler.
 */
const processSchedulers = new Map<number, PublishScheduler>();

export function processPublishScheduler(documentsPerTurn = DEFAULT_PUBLISH_DOCUMENTS_PER_TURN): PublishScheduler {
  let scheduler = processSchedulers.get(documentsPerTurn);
  if (!scheduler) processSchedulers.set(documentsPerTurn, (scheduler = new PublishScheduler({ documentsPerTurn })));
  return scheduler;
}

/** A new fields object: `changes` over `fields`, where an undefined value removes the field. */
function applyChanges<Fields extends object>(fields: Fields, changes: Partial<Fields>): Fields {
  const merged: Record<string, unknown> = { ...fields, ...changes };
  for (const [key, value] of Object.entries(changes)) if (value === undefined) delete merged[key];
  return merged as Fields;
}
