import type { MergeBox } from './merge-box';
import type { Subscription } from './subscription';

/**
 * One change of a session's userId: Meteor's Session._setUserId
 * (ddp-server/livedata_server.js). What a publication shows depends on
 * `this.userId`, so every subscription reruns under the new user, and the
 * client is sent only the difference between what it holds and the new
 * result, never a flash of removed-then-added documents.
 *
 * Steps (the session runs one change at a time; session.ts):
 *  1. `beginRerun`: deactivate every subscription (their onStop run), hold
 *     back collection messages and `ready`, start an empty client view and
 *     register each named subscription recreated (same id, name, params) for
 *     the new user. Synchronous, as in Meteor.
 *  2. On a real change only, tell onUserIdChange callbacks and wait for them
 *     (a write they make is then part of the rerun, so visible before the
 *     method's `updated`).
 *  3. Run every recreated handler, awaited together (Meteor 3's Promise.all),
 *     and wait until each is ready or stopped (at most `readyTimeoutMs`):
 *     publications that send their documents over later turns (the presence
 *     app's are paced) are then whole in the new view, so the diff holds no
 *     removed-then-added flash. Meteor waits for the handlers only.
 *     A handler that throws sends its `nosub` at once ("This is OK, though").
 *  4. `endRerun`: send the diff, then one `ready`, and send normally again.
 * Meteor reruns even when the id is the same; so does this.
 *
 * Caveat: an onUserIdChange callback must not await setUserIdOf for its own
 * session: that waits in the session's queue behind this very change.
 */
export interface UserIdChangeHost {
  readonly isClosed: boolean;
  /** Step 1; returns the view the client holds and the subscriptions to run. */
  beginRerun(userId: string | null): { clientView: MergeBox | null; rerun: Subscription[] };
  /** Step 2; resolves once every callback has settled (their errors are logged, never thrown). */
  notifyUserIdChange(userId: string | null, previous: string | null): Promise<void>;
  /** Step 4. */
  endRerun(clientView: MergeBox | null): void;
  logRerunError(error: unknown): void;
  /** DdpServerOptions.userIdRerunReadyTimeoutMs. */
  readonly rerunReadyTimeoutMs: number;
}

/** Meteor's check, with its message (livedata_server.js _setUserId). */
export function checkUserId(userId: unknown): asserts userId is string | null {
  if (userId !== null && typeof userId !== 'string') {
    throw new Error('setUserId must be called on string or null, not ' + typeof userId);
  }
}

/** Run one change; never rejects. A session closed on the way stops it silently (nothing more is sent). */
export async function rerunForUserId(host: UserIdChangeHost, userId: string | null, previous: string | null): Promise<void> {
  if (host.isClosed) return;
  let begun: ReturnType<UserIdChangeHost['beginRerun']> | null = null;
  try {
    begun = host.beginRerun(userId);
    if (userId !== previous) await host.notifyUserIdChange(userId, previous);
    // An `unsub` (after the method's unblock) or a close may have stopped one meanwhile.
    const timeoutMs = host.rerunReadyTimeoutMs;
    await Promise.all(begun.rerun.map(async (sub) => {
      if (sub.inactive) return;
      await sub.run();
      await sub.readyOrStopped(timeoutMs);
    }));
    // A rerun costs O(subscriptions), not one message's worth of the queue's per-turn budget: give other
    // sessions the event loop before the next (2,000 pipelined changes over 500 subscriptions stalled them 300 ms).
    if (begun.rerun.length > 0) await new Promise((resolve) => setImmediate(resolve));
  } catch (error) {
    host.logRerunError(error);
  } finally {
    // Even after an unexpected error: a session left holding back its messages would go silent.
    if (begun) host.endRerun(begun.clientView);
  }
}
