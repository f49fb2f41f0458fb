import type { AccountEvents } from '../app/host';
import type { DdpServer } from '../ddp/ddp-server';

/**
 * The presence app's AccountEvents in standalone mode: "the connection's
 * user" (issue 14), i.e. the DDP server's userId changes, whatever made them:
 * the `login` and `logout` methods (imports/accounts), a token's expiry, or
 * an app method of its own calling `this.setUserId`.
 *
 * The callbacks' promises are handed back to the server, which waits for
 * them before the session's subscriptions rerun: the record carries the
 * account before the method's `updated` (DDP.md: once its writes are visible).
 */
export function accountEventsOf(ddp: Pick<DdpServer, 'onUserIdChange'>): AccountEvents {
  return {
    onLogin: (callback) => ddp.onUserIdChange((connection, userId) => (userId === null ? undefined : callback(connection.id, userId))),
    onLogout: (callback) => ddp.onUserIdChange((connection, userId) => (userId === null ? callback(connection.id) : undefined)),
  };
}
