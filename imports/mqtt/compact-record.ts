import { StringInterner } from './string-interner';
import { ejsonEquals } from '../common/ejson-values';

/**
 * Other instances' records as this instance holds them: one small immutable
 * object per record instead of the parsed document, and a document made
 * again only when a reader needs one (a monitor's `added`).
 *
 * Why: an instance held ~780 bytes of heap per remote record (the parsed
 * document with its Date, its own copies of the user agent and instance id,
 * and the presence view's copy of its fields), ~260 now (bench/record-memory.ts).
 * A compact record is six fields: the session id, `userId` (the same string
 * when equal), `connectedAt` in ms, the user agent and address shared through
 * a bounded StringInterner, and the run it belongs to (one object per
 * instance and epoch, which also carries the instance id).
 *
 * Which records: exactly the presence record (imports/app/connected-user-schema.ts,
 * which the bridge validates every record against): `_id`, `userId`,
 * `connectedAt` (a Date), optional `clientAddress` and `userAgent` (strings),
 * `instanceId` (the run's), in that key order, then any of the person fields
 * (issue 14: `accountId`, `loggedInAt`, `idle`, `lastActivity`) in any order
 * (they are `$set` at login and by `presence.setIdle`, in either order);
 * those go into one small extra object, only for records that have them.
 * Anything else (another version's record, a test's) is held as the document
 * it is, so holding never loses a field.
 *
 * Example:
 *   const compactor = new RecordCompactor(4096);
 *   const held = compactor.hold(doc, { instanceId: 'B', epoch });
 *   held.toFields(); // {userId, connectedAt: Date, clientAddress, userAgent, instanceId}, a fresh object
 *
 * Caveats: every document made costs a new object and Date (~100 ns, most of
 * it the Date), so a reader that visits every record (a window's refill scan,
 * an observer's replay) takes ~5-10 ms at 50,000 remote records where it took
 * ~2-3. The interner keeps a string alive up to two generations after its last use.
 */
export type RemoteDocument = { _id: string; instanceId: string } & Record<string, unknown>;

/** One run of one instance; records of that run share this object. */
export interface RecordRun {
  readonly instanceId: string;
  /** The run's start time, ms (remote-state.ts). */
  readonly epoch: number;
}

/** A record as RemoteState holds it. Immutable: a new version is a new object. */
export interface HeldRecord {
  /** The session id. */
  readonly _id: string;
  readonly instanceId: string;
  readonly epoch: number;
  /** Its fields without `_id`, as a fresh object the caller may keep (no one mutates it). */
  toFields(): Record<string, unknown>;
  /** The whole document, as it was received, as a fresh object. */
  toDocument(): RemoteDocument;
  /** Whether `doc`, published by run `epoch`, is this record again (a resync re-announces every record). */
  isSameAs(doc: RemoteDocument, epoch: number): boolean;
}

/** The presence record's keys in the order they are built (presence.ts buildRecord) and sent. */
const KEY_ORDER = ['_id', 'userId', 'connectedAt', 'clientAddress', 'userAgent', 'instanceId'] as const;
const OPTIONAL_KEYS: ReadonlySet<string> = new Set(['clientAddress', 'userAgent']);

/** The person fields (issue 14), after the presence keys, in any order. */
interface PersonPart {
  accountId?: string;
  loggedInAtMs?: number;
  idle?: boolean;
  lastActivityMs?: number;
}
const PERSON_KEYS: ReadonlySet<string> = new Set(['accountId', 'loggedInAt', 'idle', 'lastActivity']);

export class RecordCompactor {
  private readonly strings: StringInterner;

  /** `maxInternedStrings`: strings shared per interner generation (StringInterner). */
  constructor(maxInternedStrings: number) {
    this.strings = new StringInterner(maxInternedStrings);
  }

  /** Distinct strings held for sharing now. */
  get internedStrings(): number {
    return this.strings.size;
  }

  /** `doc` as a held record of `run`; `doc` is not kept when it can be compacted. */
  hold(doc: RemoteDocument, run: RecordRun): HeldRecord {
    if (!isPresenceRecord(doc, run.instanceId)) return new PlainRecord(doc, run);
    const { _id, userId, connectedAt, clientAddress, userAgent, accountId, loggedInAt, idle, lastActivity } = doc as Record<string, unknown> & { _id: string };
    let person: PersonPart | undefined;
    if (accountId !== undefined || loggedInAt !== undefined || idle !== undefined || lastActivity !== undefined) {
      person = {};
      if (typeof accountId === 'string') person.accountId = accountId;
      if (loggedInAt instanceof Date) person.loggedInAtMs = loggedInAt.getTime();
      if (typeof idle === 'boolean') person.idle = idle;
      if (lastActivity instanceof Date) person.lastActivityMs = lastActivity.getTime();
    }
    return new CompactRecord(
      _id,
      userId === _id ? _id : (userId as string), // the same string, not a second copy
      (connectedAt as Date).getTime(),
      typeof clientAddress === 'string' ? this.strings.intern(clientAddress) : undefined,
      typeof userAgent === 'string' ? this.strings.intern(userAgent) : undefined,
      run,
      person,
    );
  }
}

/** Exactly the presence record's shape, key order included, owned by `instanceId`. */
function isPresenceRecord(doc: RemoteDocument, instanceId: string): boolean {
  let next = 0; // the index in KEY_ORDER the next key may have, at the earliest
  for (const key in doc) {
    if (next === KEY_ORDER.length && PERSON_KEYS.has(key)) continue; // checked below
    while (next < KEY_ORDER.length && KEY_ORDER[next] !== key && OPTIONAL_KEYS.has(KEY_ORDER[next]!)) next++;
    if (KEY_ORDER[next] !== key) return false; // unknown, out of order, or a required key missing before it
    next++;
  }
  if (next !== KEY_ORDER.length) return false; // it did not end with instanceId
  const { _id, userId, connectedAt, clientAddress, userAgent, accountId, loggedInAt, idle, lastActivity } = doc as Record<string, unknown>;
  return (
    doc.instanceId === instanceId &&
    (accountId === undefined ? !('accountId' in doc) : typeof accountId === 'string') &&
    (loggedInAt === undefined ? !('loggedInAt' in doc) : isValidDate(loggedInAt)) &&
    (idle === undefined ? !('idle' in doc) : typeof idle === 'boolean') &&
    (lastActivity === undefined ? !('lastActivity' in doc) : isValidDate(lastActivity)) &&
    typeof _id === 'string' &&
    typeof userId === 'string' &&
    connectedAt instanceof Date &&
    !Number.isNaN(connectedAt.getTime()) &&
    (clientAddress === undefined ? !('clientAddress' in doc) : typeof clientAddress === 'string') &&
    (userAgent === undefined ? !('userAgent' in doc) : typeof userAgent === 'string')
  );
}

function isValidDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

/** The presence record in six fields (~90 bytes besides its session id), where the document took ~460. */
class CompactRecord implements HeldRecord {
  constructor(
    readonly _id: string,
    private readonly userId: string,
    private readonly connectedAtMs: number,
    private readonly clientAddress: string | undefined,
    private readonly userAgent: string | undefined,
    private readonly run: RecordRun,
    private readonly person: PersonPart | undefined = undefined,
  ) {}

  get instanceId(): string {
    return this.run.instanceId;
  }

  get epoch(): number {
    return this.run.epoch;
  }

  toFields(): Record<string, unknown> {
    const fields = this.presenceFields();
    const person = this.person;
    if (person) {
      if (person.accountId !== undefined) fields.accountId = person.accountId;
      if (person.loggedInAtMs !== undefined) fields.loggedInAt = new Date(person.loggedInAtMs);
      if (person.idle !== undefined) fields.idle = person.idle;
      if (person.lastActivityMs !== undefined) fields.lastActivity = new Date(person.lastActivityMs);
    }
    return fields;
  }

  private presenceFields(): Record<string, unknown> {
    const { userId, clientAddress, userAgent, instanceId } = this;
    const connectedAt = new Date(this.connectedAtMs);
    // One literal per shape, absent fields left out (not set to undefined): the document as it was sent.
    if (clientAddress !== undefined && userAgent !== undefined) return { userId, connectedAt, clientAddress, userAgent, instanceId };
    if (clientAddress !== undefined) return { userId, connectedAt, clientAddress, instanceId };
    if (userAgent !== undefined) return { userId, connectedAt, userAgent, instanceId };
    return { userId, connectedAt, instanceId };
  }

  toDocument(): RemoteDocument {
    return { _id: this._id, ...this.toFields() } as RemoteDocument;
  }

  isSameAs(doc: RemoteDocument, epoch: number): boolean {
    if (epoch !== this.epoch) return false;
    let keys = 0;
    for (const _key in doc) keys++;
    const expected = 4 + (this.clientAddress === undefined ? 0 : 1) + (this.userAgent === undefined ? 0 : 1) + personKeyCount(this.person);
    const { connectedAt } = doc;
    return (
      samePerson(this.person, doc) &&
      keys === expected &&
      doc._id === this._id &&
      doc.userId === this.userId &&
      doc.instanceId === this.instanceId &&
      doc.clientAddress === this.clientAddress &&
      doc.userAgent === this.userAgent &&
      connectedAt instanceof Date &&
      connectedAt.getTime() === this.connectedAtMs
    );
  }
}

function personKeyCount(person: PersonPart | undefined): number {
  if (!person) return 0;
  return (person.accountId === undefined ? 0 : 1) + (person.loggedInAtMs === undefined ? 0 : 1) + (person.idle === undefined ? 0 : 1) + (person.lastActivityMs === undefined ? 0 : 1);
}

function samePerson(person: PersonPart | undefined, doc: RemoteDocument): boolean {
  const p = person ?? {};
  const ms = (value: unknown) => (value instanceof Date ? value.getTime() : undefined);
  return doc.accountId === p.accountId && ms(doc.loggedInAt) === p.loggedInAtMs && doc.idle === p.idle && ms(doc.lastActivity) === p.lastActivityMs;
}

/** Any other record: the document itself, as received. */
class PlainRecord implements HeldRecord {
  constructor(
    private readonly doc: RemoteDocument,
    private readonly run: RecordRun,
  ) {}

  get _id(): string {
    return this.doc._id;
  }

  get instanceId(): string {
    return this.doc.instanceId;
  }

  get epoch(): number {
    return this.run.epoch;
  }

  toFields(): Record<string, unknown> {
    const { _id, ...fields } = this.doc;
    return fields;
  }

  toDocument(): RemoteDocument {
    return { ...this.doc };
  }

  isSameAs(doc: RemoteDocument, epoch: number): boolean {
    return epoch === this.epoch && ejsonEquals(this.doc, doc);
  }
}
