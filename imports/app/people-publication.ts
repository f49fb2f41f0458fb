import { BatchedPublisher, PacedStep, processPublishScheduler, PublishScheduler } from './batched-publisher';
import type { HostPublishThis } from './host';
import type { OnlinePeople } from './online-people';
import type { PersonDocument } from './wire-contract';
import { isPlainObject } from '../common/is-plain-object';

/**
 * `list.onlineUsers`: one document per online person (collection
 * `onlineUsers`), live, for a subscriber the policy allowed.
 *
 * Options, in the first parameter next to a monitor's token:
 * `{ accountIds?: string[] }`: only these people (at most
 * `PEOPLE_OPTION_LIMITS.maxAccountIds`), for an app that asks "are my
 * contacts online?" and should pay for its contacts, not for everyone.
 * Unknown keys are ignored (older and newer clients keep working).
 *
 * Paced like the monitors' list (batched-publisher.ts): the initial set goes
 * out over event-loop turns, then `ready`.
 *
 * Example: `publishPeople(this, people, { accountIds: ['alice'] }, 'onlineUsers')`.
 */
export const PEOPLE_OPTION_LIMITS = {
  maxAccountIds: 1000,
  maxAccountIdLength: 64,
} as const;

export interface PeopleOptions {
  /** Absent: everyone online. */
  accountIds?: ReadonlySet<string>;
}

export type ParsedPeopleOptions = { ok: true; options: PeopleOptions } | { ok: false; reason: string };

export function parsePeopleOptions(param: unknown, limits: typeof PEOPLE_OPTION_LIMITS = PEOPLE_OPTION_LIMITS): ParsedPeopleOptions {
  if (param === undefined || param === null) return { ok: true, options: {} };
  if (!isPlainObject(param)) return { ok: false, reason: 'Options must be an object' };
  const { accountIds } = param;
  if (accountIds === undefined) return { ok: true, options: {} };
  if (
    !Array.isArray(accountIds) ||
    accountIds.length > limits.maxAccountIds ||
    !accountIds.every((id) => typeof id === 'string' && id.length > 0 && id.length <= limits.maxAccountIdLength)
  ) {
    return { ok: false, reason: `accountIds must be an array of at most ${limits.maxAccountIds} strings of 1 to ${limits.maxAccountIdLength} characters` };
  }
  return { ok: true, options: { accountIds: new Set(accountIds as string[]) } };
}

type PersonFields = Omit<PersonDocument, '_id'>;

export function publishPeople(
  sub: HostPublishThis,
  people: OnlinePeople,
  options: PeopleOptions,
  collection: string,
  pacing?: PublishScheduler | number,
): void {
  const scheduler = pacing instanceof PublishScheduler ? pacing : processPublishScheduler(pacing);
  const out = new BatchedPublisher<PersonFields>(sub, collection, scheduler);
  const wanted = options.accountIds;
  const matches = (accountId: string) => !wanted || wanted.has(accountId);
  let handle: { stop(): void } | null = null;
  // Set once the subscription stops. A subscription may stop before its start runs (its session closed while
  // the handler awaited the policy or other instances' records): the start must then observe nothing, for ever.
  let stopped = false;
  const start = new PacedStep(
    () => {
      if (stopped) return;
      if (wanted && wanted.size < people.size) {
        for (const id of wanted) {
          const doc = people.get(id);
          if (doc) out.queue(id, fieldsOf(doc));
        }
      } else {
        people.forEach((doc) => {
          if (matches(doc._id)) out.queue(doc._id, fieldsOf(doc));
        });
      }
      handle = people.observe({
        added: (doc) => matches(doc._id) && out.added(doc._id, fieldsOf(doc)),
        changed: (id, fields) => matches(id) && out.changed(id, fields),
        removed: (id) => matches(id) && out.removed(id),
      });
      out.goLive();
    },
    () => (wanted ? Math.min(wanted.size, people.size) : people.size),
    (error) => out.fail(error),
  );
  scheduler.add(start);
  sub.onStop(() => {
    stopped = true;
    scheduler.remove(start);
    handle?.stop();
    out.stop();
  });
}

function fieldsOf(doc: PersonDocument): PersonFields {
  const { _id, ...fields } = doc;
  return fields;
}
