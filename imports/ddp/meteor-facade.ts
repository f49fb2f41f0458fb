import type { Logger } from '../log/logger';
import type { ConnectionHandle } from './connection-handle';
import type { MethodHandler, PublishHandler } from './contexts';
import type { DdpServer } from './ddp-server';
import { MeteorError } from './meteor-error';
import type { DDPRateLimiterApi } from './rate-limiter';

export type { DDPRateLimiterApi } from './rate-limiter';

/**
 * A `Meteor`-shaped object over the standalone DDP server: the names and
 * call shapes of `Meteor` in @types/meteor (startup, onConnection, methods,
 * publish, Error, settings), so code written for Meteor registers unchanged.
 *
 * Startup callbacks run in order, awaited, when the host calls runStartup()
 * (before it starts listening); one registered later runs at once, as in Meteor.
 *
 * `MeteorFacade` is `Meteor`'s shape only. `StandaloneMeteor` adds what Meteor
 * keeps in other packages, under the same export name: `DDPRateLimiter` is
 * `import { DDPRateLimiter } from 'meteor/ddp-rate-limiter'`, so standalone
 * code writes `const { DDPRateLimiter } = meteor` (one per server).
 */
export interface MeteorFacade {
  readonly isServer: true;
  readonly isClient: false;
  readonly settings: Record<string, unknown> & { public: Record<string, unknown> };
  startup(callback: () => unknown): void;
  onConnection(callback: (connection: ConnectionHandle) => void): { stop(): void };
  methods(handlers: Record<string, MethodHandler>): void;
  publish(name: string, handler: PublishHandler): void;
  readonly Error: typeof MeteorError;
}

export interface StandaloneMeteor extends MeteorFacade {
  runStartup(): Promise<void>;
  /** Meteor's ddp-rate-limiter `DDPRateLimiter`, for this server's methods and subscriptions. */
  readonly DDPRateLimiter: DDPRateLimiterApi;
}

export function createMeteorFacade(ddp: DdpServer, settings: Record<string, unknown>, log: Logger): StandaloneMeteor {
  const pending: Array<() => unknown> = [];
  let started = false;
  const runOne = async (callback: () => unknown) => {
    try {
      await callback();
    } catch (error) {
      log.error('Meteor.startup callback failed', { error });
      throw error;
    }
  };
  return {
    isServer: true,
    isClient: false,
    settings: { public: {}, ...settings } as MeteorFacade['settings'],
    startup(callback) {
      if (started) void runOne(callback).catch(() => {});
      else pending.push(callback);
    },
    onConnection: (callback) => ddp.onConnection(callback),
    methods: (handlers) => ddp.methods(handlers),
    publish: (name, handler) => ddp.publish(name, handler),
    Error: MeteorError,
    DDPRateLimiter: ddp.rateLimiter.api,
    async runStartup() {
      started = true;
      for (const callback of pending.splice(0)) await runOne(callback);
    },
  };
}
