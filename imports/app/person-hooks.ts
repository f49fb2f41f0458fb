import type { Logger } from '../log/logger';
import type { PeopleCallbacks, PersonCause, PersonOwner, PersonTransition } from './online-people';
import type { PersonDocument } from './wire-contract';
import { callSafely } from '../common/call-safely';

/**
 * The app's server hooks on people: `onAccountOnline`, `onAccountOffline`,
 * `onAccountIdle`, `onAccountActive`, each called with `(accountId, info)`
 * once per transition of the person, not per socket (issue 14).
 *
 * Once per fleet, not once per instance: every instance sees every person's
 * transitions (the view merges all instances), so only the person's owner
 * fires: the smallest instance id, still up, among the instances that held
 * their connections since they came online. Views that saw the same
 * connections agree on it whatever order the changes reached them in, so
 * two tabs on two instances going idle at once, or closing one after the
 * other, fire once. When all those instances are gone (their Wills) the
 * online instance with the smallest id fires instead, so the people of a
 * crashed instance still go offline exactly once.
 *
 * Caveats: a person's first two connections logging in on two instances
 * within the bridge's latency each look like the first, and `online` fires
 * on both. A hook that throws or rejects is logged; the others still run.
 */
export type AccountHookInfo = Omit<PersonDocument, '_id'> & PersonCause;
export type AccountHook = (accountId: string, info: AccountHookInfo) => unknown;

export interface AccountHooks {
  onAccountOnline(hook: AccountHook): { stop(): void };
  onAccountOffline(hook: AccountHook): { stop(): void };
  onAccountIdle(hook: AccountHook): { stop(): void };
  onAccountActive(hook: AccountHook): { stop(): void };
}

export interface PersonHookOptions {
  ownInstanceId: string;
  log: Logger;
  /** Whether another instance is up now (the bridge's statuses); absent: a single instance. */
  isRemoteOnline?: (instanceId: string) => boolean;
  /** The other online instances' ids (their summaries), to pick who fires for a gone instance. */
  onlineInstanceIds?: () => Iterable<string>;
  /** Told when the first hook is registered: hooks need every instance's records from then on. */
  onFirstHook?: () => void;
}

export class PersonHooks implements AccountHooks {
  private readonly hooks: Record<PersonTransition, Set<AccountHook>> = {
    online: new Set(),
    offline: new Set(),
    idle: new Set(),
    active: new Set(),
  };
  private anyRegistered = false;

  constructor(private readonly options: PersonHookOptions) {}

  onAccountOnline(hook: AccountHook) {
    return this.add('online', hook);
  }

  onAccountOffline(hook: AccountHook) {
    return this.add('offline', hook);
  }

  onAccountIdle(hook: AccountHook) {
    return this.add('idle', hook);
  }

  onAccountActive(hook: AccountHook) {
    return this.add('active', hook);
  }

  /** The OnlinePeople callback that fires the hooks. */
  readonly callbacks: PeopleCallbacks = {
    transition: (kind, doc, cause, owner) => {
      const hooks = this.hooks[kind];
      if (hooks.size === 0 || !this.isResponsible(owner)) return;
      const { _id, ...fields } = doc;
      const info: AccountHookInfo = { ...fields, ...cause };
      for (const hook of hooks) this.run(kind, hook, _id, info);
    },
  };

  /** The smallest instance still up among those that held the person's connections fires; if all are gone, the smallest online one. */
  private isResponsible(instances: PersonOwner): boolean {
    const { ownInstanceId, isRemoteOnline, onlineInstanceIds } = this.options;
    const up = (id: string) => id === ownInstanceId || !isRemoteOnline || isRemoteOnline(id);
    let owner: string | undefined;
    for (const id of instances) if (up(id) && (owner === undefined || id < owner)) owner = id;
    if (owner !== undefined) return owner === ownInstanceId;
    // Every instance that held them is gone (their Wills): the smallest online instance id speaks for them.
    for (const id of onlineInstanceIds?.() ?? []) if (id < ownInstanceId) return false;
    return true;
  }

  private add(kind: PersonTransition, hook: AccountHook): { stop(): void } {
    if (typeof hook !== 'function') throw new TypeError(`The ${kind} hook must be a function`);
    this.hooks[kind].add(hook);
    if (!this.anyRegistered) {
      this.anyRegistered = true;
      this.options.onFirstHook?.();
    }
    return { stop: () => void this.hooks[kind].delete(hook) };
  }

  private run(kind: PersonTransition, hook: AccountHook, accountId: string, info: AccountHookInfo): void {
    callSafely(() => hook(accountId, info), (error) => this.options.log.error('Account hook failed', { hook: kind, accountId, error }));
  }
}
