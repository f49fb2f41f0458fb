import type { Logger } from './logger';

/**
 * Logs what clients get wrong (bad frames, malformed messages, exceeded
 * bounds) without letting a client flood the log: at most one line per kind
 * per `intervalMs`, carrying how many of that kind were suppressed since the
 * last line. Never a stack trace: the mistake is the client's, not ours.
 *
 * Example: `mistakes.report('parse error', { session: id })`.
 * Caveat: the context of suppressed reports is lost; only the count remains.
 */
export type ClientMistake =
  | 'parse error'
  | 'bad request'
  | 'must connect first'
  | 'malformed message'
  | 'non-string frame'
  | 'non-string id'
  | 'too many params'
  | 'frame too large'
  | 'inbound queue overflow'
  | 'too many pending methods'
  | 'too many subscriptions'
  | 'not reading';

interface KindState {
  lastLoggedAt: number;
  suppressed: number;
}

export class ClientMistakeLog {
  private readonly kinds = new Map<ClientMistake, KindState>();
  private readonly counts = new Map<ClientMistake, number>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  report(kind: ClientMistake, context: Record<string, unknown> = {}): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    const time = this.now();
    const state = this.kinds.get(kind);
    if (state && time - state.lastLoggedAt < this.intervalMs) {
      state.suppressed++;
      return;
    }
    const suppressed = state?.suppressed ?? 0;
    this.kinds.set(kind, { lastLoggedAt: time, suppressed: 0 });
    this.log.warn(`Client mistake: ${kind}`, suppressed ? { ...context, suppressedSinceLastLine: suppressed } : context);
  }

  /** Every mistake seen, by kind, including the suppressed ones (for metrics). */
  totals(): ReadonlyMap<ClientMistake, number> {
    return this.counts;
  }
}
