import type { Logger } from '../log/logger';
import { RECORD_LIMITS } from './connected-user-schema';
import type { PresenceCollection } from './host';

/**
 * The person fields of a connection record (issue 14): `accountId` and
 * `loggedInAt` at login, gone at logout; `idle` and `lastActivity` from
 * `presence.setIdle`. Each is one `$set`/`$unset` of this instance's own
 * record, nothing else: no users collection is read or written.
 *
 * `settledInsert(sessionId)` resolves once the record's insert (if one is in
 * flight) has landed, so an update never races ahead of its insert.
 *
 * Example: `const records = new AccountRecords(collection, settledInsert, log); await records.login(id, 'alice');`
 */
export class AccountRecords {
  constructor(
    private readonly collection: PresenceCollection,
    private readonly settledInsert: (sessionId: string) => Promise<unknown>,
    private readonly log: Logger,
  ) {}

  async login(sessionId: string, accountId: string): Promise<void> {
    // The schema's limit, checked here so a bad id is one clear warning, not a failed write.
    if (typeof accountId !== 'string' || accountId.length === 0 || accountId.length > RECORD_LIMITS.maxIdLength) {
      this.log.warn('Account id not recorded: not a string of 1 to 64 characters', { session: sessionId });
      return this.logout(sessionId);
    }
    const now = new Date();
    await this.update(sessionId, { $set: { accountId, loggedInAt: now, lastActivity: now } });
  }

  async logout(sessionId: string): Promise<void> {
    await this.update(sessionId, { $unset: { accountId: '', loggedInAt: '' } });
  }

  /** Only a change is written: a client that repeats itself costs a lookup. */
  async setIdle(sessionId: string, idle: boolean, wasIdle: boolean): Promise<void> {
    if (idle === wasIdle) return;
    const lastActivity = new Date();
    await this.update(sessionId, idle ? { $set: { idle: true, lastActivity } } : { $set: { lastActivity }, $unset: { idle: '' } });
  }

  private async update(sessionId: string, modifier: Parameters<PresenceCollection['updateAsync']>[1]): Promise<void> {
    await this.settledInsert(sessionId);
    try {
      await this.collection.updateAsync({ _id: sessionId }, modifier);
    } catch (error) {
      this.log.error('Could not update connection record', { session: sessionId, error });
    }
  }
}
