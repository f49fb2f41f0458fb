import type { ConnectionHandle } from './connection-handle';
import type { MethodContext } from './contexts';

/** What an invocation needs from its session. */
export interface UserIdOwner {
  readonly userId: string | null;
  setUserId(userId: string | null): Promise<void>;
}

/**
 * `this` inside a method: Meteor's DDPCommon.MethodInvocation
 * (ddp-common/method_invocation.js), less the client-only parts.
 *
 * Why a class: `setUserId` must know whether this call already unblocked the
 * session's queue, and the session must know which userId changes this call
 * started, so that `updated` waits for their rerun even when the handler did
 * not await them (Meteor runs the rerun inside the method, before its write
 * fence fires).
 *
 * Caveat: `userId` reads the session's current value, so an unblocked method
 * sees a later change (a logout by DdpServer.setUserIdOf); Meteor's copy
 * would keep the value it started with.
 */
export class MethodInvocation implements MethodContext {
  readonly isSimulation = false as const;
  private calledUnblock = false;
  private userIdChanges: Array<Promise<void>> | null = null;

  constructor(
    private readonly session: UserIdOwner,
    readonly connection: ConnectionHandle,
    readonly randomSeed: string | null,
    private readonly unblockQueue: () => void,
  ) {}

  get userId(): string | null {
    return this.session.userId;
  }

  unblock(): void {
    this.calledUnblock = true;
    this.unblockQueue();
  }

  /**
   * Throws synchronously where Meteor's async function rejects: a rejection
   * the handler does not await would be unhandled (fatal in Node 20), a
   * throw fails the method. The returned promise never rejects.
   */
  setUserId(userId: string | null): Promise<void> {
    // method_invocation.js: after unblock another message may be running, and
    // rerunning subscriptions under it is not allowed.
    if (this.calledUnblock) throw new Error("Can't call setUserId in a method after calling unblock");
    const change = this.session.setUserId(userId);
    (this.userIdChanges ??= []).push(change);
    return change;
  }

  /** Resolves once every userId change this call started has rerun the subscriptions. */
  async userIdChangesDone(): Promise<void> {
    // A handler may start another change while an earlier one settles.
    while (this.userIdChanges) {
      const changes = this.userIdChanges;
      this.userIdChanges = null;
      await Promise.all(changes);
    }
  }
}
