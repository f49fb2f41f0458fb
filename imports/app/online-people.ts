import type { Logger } from '../log/logger';
import type { PresenceFields } from './presence-view';
import type { PersonDocument, PersonStatus } from './wire-contract';

/**
 * Online people: the connection records that carry an `accountId`, grouped
 * by account, one PersonDocument each (issue 14). Fed with every record the
 * presence view holds (this instance's and, through the MQTT bridge, other
 * instances'), so one person with tabs on three instances is one document.
 *
 * - `status` is 'idle' when every one of the person's connections is idle;
 * - `since` is the earliest `loggedInAt`, `lastActivity` the latest
 *   `lastActivity` (or `loggedInAt`) among their connections now.
 *
 * Transitions (online, offline, idle, active) are reported once per change
 * of the person, not per socket, with the connection and instance that
 * caused them and the instances that held the person's connections during
 * this online stretch (kept until they go offline). Views that saw the same
 * connections agree on that set whatever order the changes reached them in,
 * so hooks can fire on one instance only (person-hooks.ts).
 *
 * Why pure and synchronous: it is fed from the view's observer and does no
 * I/O, so it is unit-tested by feeding records (tests/app/online-people.test.ts).
 * Memory: one small entry per logged-in connection and one document per
 * person; anonymous connections cost nothing.
 *
 * Example:
 *   const people = new OnlinePeople(log);
 *   view.observe(people.viewCallbacks((id) => view.get(id)));
 *   people.observe({ added, changed, removed });
 */
export type PersonTransition = 'online' | 'offline' | 'idle' | 'active';

export interface PersonCause {
  /** The connection whose change caused the transition. */
  connectionId: string;
  instanceId: string;
}

/** Every instance that held one of the person's connections since they came online. */
export type PersonOwner = ReadonlySet<string>;

export interface PeopleCallbacks {
  added?(doc: PersonDocument): void;
  /** `fields`: what changed, as new values. */
  changed?(accountId: string, fields: Partial<Omit<PersonDocument, '_id'>>): void;
  /** `last`: the person's document just before they went offline. */
  removed?(accountId: string, last: PersonDocument): void;
  transition?(kind: PersonTransition, doc: PersonDocument, cause: PersonCause, owner: PersonOwner): void;
}

interface ConnectionEntry {
  accountId: string;
  instanceId: string;
  idle: boolean;
  loggedInAtMs: number;
  lastActivityMs: number;
}

interface Person {
  connections: Set<string>;
  doc: PersonDocument;
  /** Instances seen holding the person's connections in this online stretch. */
  owner: Set<string>;
}

export class OnlinePeople {
  private readonly entries = new Map<string, ConnectionEntry>();
  private readonly people = new Map<string, Person>();
  private readonly observers = new Set<PeopleCallbacks>();

  constructor(private readonly log: Logger) {}

  /** Online people now. */
  get size(): number {
    return this.people.size;
  }

  get(accountId: string): PersonDocument | undefined {
    return this.people.get(accountId)?.doc;
  }

  forEach(visit: (doc: PersonDocument) => void): void {
    for (const person of this.people.values()) visit(person.doc);
  }

  /** Told every change from now on; the current people are read with forEach. */
  observe(callbacks: PeopleCallbacks): { stop(): void } {
    this.observers.add(callbacks);
    return { stop: () => void this.observers.delete(callbacks) };
  }

  /** Presence view callbacks that feed this; `current` reads a record's whole fields after a change. */
  viewCallbacks(current: (id: string) => PresenceFields | undefined) {
    return {
      added: (id: string, fields: PresenceFields) => this.recordChanged(id, fields),
      changed: (id: string, changes: PresenceFields) => {
        // Only the person's fields matter; a change elsewhere (none today) is ignored cheaply.
        if (!('accountId' in changes || 'idle' in changes || 'lastActivity' in changes || 'loggedInAt' in changes)) return;
        this.recordChanged(id, current(id));
      },
      removed: (id: string, fields: PresenceFields) => this.recordChanged(id, undefined, fields.instanceId),
    };
  }

  /** A record is now `fields` (undefined: gone). */
  recordChanged(connectionId: string, fields: PresenceFields | undefined, goneFrom?: string): void {
    const before = this.entries.get(connectionId);
    const after = fields && typeof fields.accountId === 'string' ? toEntry(fields) : undefined;
    if (!before && !after) return;
    if (after) this.entries.set(connectionId, after);
    else this.entries.delete(connectionId);
    const cause = { connectionId, instanceId: after?.instanceId ?? before?.instanceId ?? goneFrom ?? '' };
    if (before && before.accountId !== after?.accountId) this.leave(before.accountId, connectionId, cause);
    if (after) this.join(after.accountId, connectionId, cause);
  }

  private leave(accountId: string, connectionId: string, cause: PersonCause): void {
    const person = this.people.get(accountId);
    if (!person) return;
    person.connections.delete(connectionId);
    if (person.connections.size === 0) {
      this.people.delete(accountId);
      this.emit((o) => o.removed?.(accountId, person.doc));
      this.emit((o) => o.transition?.('offline', person.doc, cause, person.owner));
      return;
    }
    this.refresh(person, cause);
  }

  private join(accountId: string, connectionId: string, cause: PersonCause): void {
    const person = this.people.get(accountId);
    if (!person) {
      const connections = new Set([connectionId]);
      const created: Person = { connections, doc: this.compute(accountId, connections), owner: new Set([cause.instanceId]) };
      this.people.set(accountId, created);
      this.emit((o) => o.added?.(created.doc));
      // Online, idle or not (its status says which): a person who arrives idle has not become idle.
      this.emit((o) => o.transition?.('online', created.doc, cause, created.owner));
      return;
    }
    person.connections.add(connectionId);
    this.refresh(person, cause);
  }

  /** Recompute a person still online and report what changed. */
  private refresh(person: Person, cause: PersonCause): void {
    const before = person.doc;
    const after = this.compute(before._id, person.connections);
    person.owner.add(cause.instanceId);
    const fields: Partial<Omit<PersonDocument, '_id'>> = {};
    let changed = false;
    if (after.status !== before.status) (fields.status = after.status), (changed = true);
    if (after.connections !== before.connections) (fields.connections = after.connections), (changed = true);
    if (after.since.getTime() !== before.since.getTime()) (fields.since = after.since), (changed = true);
    if (after.lastActivity.getTime() !== before.lastActivity.getTime()) (fields.lastActivity = after.lastActivity), (changed = true);
    if (!changed) return;
    // A new object each time: observers may keep the documents they were handed.
    person.doc = after;
    this.emit((o) => o.changed?.(after._id, fields));
    if (after.status !== before.status) this.emit((o) => o.transition?.(after.status === 'idle' ? 'idle' : 'active', after, cause, person.owner));
  }



  private compute(accountId: string, connections: Set<string>): PersonDocument {
    let idle = 0;
    let since = Infinity;
    let lastActivity = -Infinity;
    for (const id of connections) {
      const entry = this.entries.get(id)!;
      if (entry.idle) idle++;
      if (entry.loggedInAtMs < since) since = entry.loggedInAtMs;
      if (entry.lastActivityMs > lastActivity) lastActivity = entry.lastActivityMs;
    }
    const status: PersonStatus = idle === connections.size ? 'idle' : 'online';
    return { _id: accountId, status, connections: connections.size, since: new Date(since), lastActivity: new Date(lastActivity) };
  }

  private emit(notify: (observer: PeopleCallbacks) => void): void {
    for (const observer of this.observers) {
      try {
        notify(observer);
      } catch (error) {
        this.log.error('Online people observer failed', { error });
      }
    }
  }
}

function toEntry(fields: PresenceFields): ConnectionEntry {
  const loggedInAtMs = fields.loggedInAt instanceof Date ? fields.loggedInAt.getTime() : fields.connectedAt instanceof Date ? fields.connectedAt.getTime() : 0;
  return {
    accountId: fields.accountId!,
    instanceId: fields.instanceId ?? '',
    idle: fields.idle === true,
    loggedInAtMs,
    lastActivityMs: fields.lastActivity instanceof Date ? fields.lastActivity.getTime() : loggedInAtMs,
  };
}
