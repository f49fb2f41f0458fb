import type { ClientMistakeLog } from '../log/client-mistake-log';
import type { Logger } from '../log/logger';
import type { ConnectionHandle } from './connection-handle';
import type { MethodHandler, PublishHandler } from './contexts';
import { Heartbeat, type HeartbeatTarget } from './heartbeat';
import type { MergeBox } from './merge-box';
import { DdpErrors, toClientError, type ProtocolErrorReason } from './meteor-error';
import { MethodInvocation, type UserIdOwner } from './method-invocation';
import type { DdpServerOptions } from './options';
import type { DdpRateLimiter } from './rate-limiter';
import type { DdpObservers } from './server-observers';
import { SessionQueue, type QueueRunner } from './session-queue';
import { SessionSubscriptions, type SubscriptionsOwner } from './session-subscriptions';
import type { Subscription } from './subscription';
import type { TransportSocket } from './transports/transport-socket';
import { checkUserId, rerunForUserId, type UserIdChangeHost } from './user-id-change';
import { protocolError, stringifyDdp, type DdpMessage } from './wire';
import { callSafely } from '../common/call-safely';

export type SessionCloseReason =
  | 'transport closed'
  | 'heartbeat timeout'
  | 'idle timeout'
  | 'closed by app'
  | 'inbound queue overflow'
  | 'too many pending methods'
  | 'too many subscriptions'
  | 'server shutdown';

/** What a session needs from the server that owns it. */
export interface SessionRegistry {
  readonly methodHandlers: ReadonlyMap<string, MethodHandler>;
  readonly publishHandlers: ReadonlyMap<string, PublishHandler>;
  readonly rateLimiter: Pick<DdpRateLimiter, 'limit'>;
  readonly mistakes: ClientMistakeLog;
  /** Told each registered method's duration (metrics); optional so bare registries in tests need none. */
  readonly observers?: Pick<DdpObservers, 'methodFinished'>;
  sessionClosed(session: Session, reason: SessionCloseReason): void;
  /** Told a real userId change before the subscriptions rerun; the change waits for it. Never rejects. */
  userIdChanged?(connection: ConnectionHandle, userId: string | null, previous: string | null): Promise<void>;
}

/** A message waiting in the session's queue, with its frame's length (for the byte bound and the error echo). */
interface InboundMessage {
  msg: DdpMessage;
  frameLength: number;
}

/** A server-initiated userId change (DdpServer.setUserIdOf), run in turn with the client's messages. */
interface UserIdTask {
  userId: string | null;
  settle(ran: boolean): void;
}

type SessionTask = InboundMessage | UserIdTask;

/**
 * One DDP session (Meteor's Session): the serial message queue, the heartbeat,
 * method calls, the userId and its changes (user-id-change.ts), and the
 * connection handle; named subscriptions and the merge box live in
 * session-subscriptions.ts. Created after a successful `connect`; the
 * socket-level checks before that live in the server.
 */
export class Session implements SubscriptionsOwner, QueueRunner<SessionTask>, HeartbeatTarget, UserIdOwner, UserIdChangeHost {
  readonly connection: ConnectionHandle;
  private closed = false;
  private readonly queue: SessionQueue<SessionTask>;
  /** Methods started and not yet answered: more than one only when methods call `unblock()`. */
  private runningMethods = 0;
  private readonly heartbeat: Heartbeat | null;
  /** `pre1` only, which has no heartbeat: inbound silence of `pre1IdleTimeoutMs` closes the session. */
  private readonly idleTimer: NodeJS.Timeout | null;
  /** Allocated on first use: most presence clients never subscribe. */
  private subscriptions: SessionSubscriptions | null = null;
  private currentUserId: string | null = null;
  /** The last userId change queued (user-id-change.ts); null when none is pending. */
  private userIdChangeTail: Promise<void> | null = null;
  /** setUserIdOf tasks still queued, so a close can settle them with false. */
  private userIdTasks: Set<UserIdTask> | null = null;
  /** One callback is kept bare (the common case: the presence app's), more in an array. */
  private closeCallbacks: (() => void) | Array<() => void> | null = null;
  private readonly log: Logger;

  constructor(
    readonly id: string,
    readonly version: string,
    private readonly socket: TransportSocket,
    private readonly registry: SessionRegistry,
    private readonly options: DdpServerOptions,
    clientAddress: string | null,
    logger: Logger,
  ) {
    this.log = logger;
    const session = this;
    this.connection = {
      id,
      clientAddress,
      httpHeaders: socket.headers,
      close: () => session.close('closed by app'),
      onClose(callback) {
        if (session.closed) setImmediate(() => session.runCloseCallback(callback));
        else if (!session.closeCallbacks) session.closeCallbacks = callback;
        else if (typeof session.closeCallbacks === 'function') session.closeCallbacks = [session.closeCallbacks, callback];
        else session.closeCallbacks.push(callback);
      },
    };
    this.queue = new SessionQueue<SessionTask>(
      this,
      options.maxQueuedMessagesPerSession,
      options.maxQueuedBytesPerSession,
      options.messagesPerTurn,
      Math.floor(options.queueHighWaterMessages / 2),
    );
    this.send({ msg: 'connected', session: id });
    // DDP.md: heartbeats exist from version "1" and "pre2"; "pre1" has no ping.
    this.heartbeat =
      version !== 'pre1' && options.heartbeatIntervalMs > 0
        ? new Heartbeat(options.heartbeatIntervalMs, options.heartbeatTimeoutMs, this)
        : null;
    this.heartbeat?.start();
    this.idleTimer =
      version === 'pre1' && options.pre1IdleTimeoutMs > 0
        ? setTimeout(() => this.close('idle timeout'), options.pre1IdleTimeoutMs).unref()
        : null;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Who is logged in on this session; null until setUserId, and again only by setUserId(null). */
  get userId(): string | null {
    return this.currentUserId;
  }

  get transport(): TransportSocket['transport'] {
    return this.socket.transport;
  }

  /** Names of this session's live subscriptions (read at metrics scrape time; registered names only). */
  *subscriptionNames(): IterableIterator<string> {
    if (this.subscriptions) yield* this.subscriptions.names();
  }

  /** Entry point for every parsed message after `connect`. */
  processMessage(msg: DdpMessage, frameLength = 0): void {
    if (this.closed) return;
    // "Any message counts as receiving a pong" (ddp-server).
    this.heartbeat?.messageReceived();
    this.idleTimer?.refresh();
    if (this.version !== 'pre1' && msg.msg === 'ping') {
      // Meteor answers with the id as it came; an id its stringifyDDP refuses gets no answer.
      if (hasUnsendableId(msg)) return this.registry.mistakes.report('non-string id', { session: this.id });
      this.send(msg.id === undefined ? { msg: 'pong' } : { msg: 'pong', id: msg.id });
      return;
    }
    if (this.version !== 'pre1' && msg.msg === 'pong') return;
    if (!this.queue.push({ msg, frameLength }, frameLength)) return this.closeForMistake('inbound queue overflow', 'inbound queue overflow');
    // Backpressure: a client far ahead of us is not read until we catch up
    // (frames already in the same TCP read still arrive: the hard caps stay).
    if (this.queue.length === this.options.queueHighWaterMessages) this.socket.pauseReading(this.options.heartbeatTimeoutMs || 15_000);
  }

  /** The queue is half way down from its high-water mark: read the client again. */
  onLowWater(): void {
    if (!this.closed) this.socket.resumeReading();
  }

  /** A bound exceeded: this client only is closed, with one (rate-limited) log line. */
  private closeForMistake(
    kind: 'too many pending methods' | 'too many subscriptions' | 'inbound queue overflow',
    reason: SessionCloseReason,
  ): void {
    this.registry.mistakes.report(kind, { session: this.id });
    this.close(reason);
  }

  send(msg: Record<string, unknown>): void {
    if (this.closed) return;
    let frame: string;
    try {
      frame = stringifyDdp(msg);
    } catch (error) {
      this.log.warn('Dropped unserialisable outgoing message', { session: this.id, msg: msg.msg, error });
      return;
    }
    this.socket.send(frame);
  }

  sendError(reason: ProtocolErrorReason, offendingMessage?: DdpMessage, frameLength = 0): void {
    if (offendingMessage) this.registry.mistakes.report(reason === 'Bad request' ? 'bad request' : 'malformed message', { session: this.id });
    this.send(protocolError(reason, offendingMessage, frameLength, this.options.maxOffendingMessageBytes));
  }

  close(reason: SessionCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.close();
    if (this.userIdTasks) for (const task of this.userIdTasks) task.settle(false);
    this.userIdTasks = null;
    this.heartbeat?.stop();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.subscriptions?.dropView();
    this.socket.close();
    this.registry.sessionClosed(this, reason);
    // Meteor defers this so whoever closed the session does not wait on app
    // callbacks: subscriptions' onStop first, then the connection's onClose.
    setImmediate(() => {
      const callbacks = this.closeCallbacks;
      this.closeCallbacks = null;
      this.subscriptions?.deactivateAll();
      if (typeof callbacks === 'function') this.runCloseCallback(callbacks);
      else if (callbacks) for (const callback of callbacks) this.runCloseCallback(callback);
    });
  }

  private runCloseCallback(callback: () => void): void {
    callSafely(callback, (error) => this.log.error('onClose callback failed', { session: this.id, error }));
  }

  // ---- HeartbeatTarget, QueueRunner --------------------------------------

  sendPing(): void {
    this.send({ msg: 'ping' });
  }

  onHeartbeatTimeout(): void {
    this.close('heartbeat timeout');
  }

  onTaskError(error: unknown, item: SessionTask): void {
    const msg = 'msg' in item ? item.msg.msg : 'setUserIdOf';
    this.log.error('Internal exception while processing message', { session: this.id, msg, error });
  }

  runTask(task: SessionTask, unblock: () => void): unknown {
    if (!('msg' in task)) return this.runUserIdTask(task);
    const { msg, frameLength } = task;
    switch (msg.msg) {
      case 'method':
        // Queued methods are bounded by the queue; this bounds those that unblocked and still run.
        if (++this.runningMethods > this.options.maxPendingMethodsPerSession) {
          return this.closeForMistake('too many pending methods', 'too many pending methods');
        }
        return this.handleMethod(msg, frameLength, unblock).finally(() => this.runningMethods--);
      case 'sub':
        return this.handleSub(msg, frameLength, unblock);
      case 'unsub':
        if (hasUnsendableId(msg)) this.registry.mistakes.report('non-string id', { session: this.id });
        else this.unsub(msg.id as string);
        return undefined;
      default:
        this.sendError('Bad request', msg, frameLength);
        return undefined;
    }
  }

  private async handleMethod(msg: DdpMessage, frameLength: number, unblock: () => void): Promise<void> {
    const { id, method, params } = msg;
    if (
      typeof id !== 'string' ||
      typeof method !== 'string' ||
      ('params' in msg && !Array.isArray(params)) ||
      ('randomSeed' in msg && typeof msg.randomSeed !== 'string')
    ) {
      this.sendError('Malformed method invocation', msg, frameLength);
      return;
    }
    if (Array.isArray(params) && params.length > this.options.maxParams) {
      this.registry.mistakes.report('too many params', { session: this.id, method: method.slice(0, 64), params: params.length });
      this.send({ msg: 'updated', methods: [id] });
      this.send({ msg: 'result', id, error: DdpErrors.tooManyParams(this.options.maxParams).toWire() });
      return;
    }
    const handler = this.registry.methodHandlers.get(method);
    if (!handler) {
      this.send({ msg: 'result', id, error: DdpErrors.methodNotFound(method).toWire() });
      this.send({ msg: 'updated', methods: [id] });
      return;
    }
    // livedata_server.js counts a call only once its handler exists, then
    // rejects the invocation: the fence arms (`updated`) before `result` goes.
    const limited = this.registry.rateLimiter.limit('method', method, this.connection, this.currentUserId);
    if (limited) {
      this.send({ msg: 'updated', methods: [id] });
      this.send({ msg: 'result', id, error: limited.toWire() });
      return;
    }
    const randomSeed = typeof msg.randomSeed === 'string' ? msg.randomSeed : null;
    const context = new MethodInvocation(this, this.connection, randomSeed, unblock);
    const payload: Record<string, unknown> = { msg: 'result', id };
    const started = performance.now();
    try {
      const result = await handler.apply(context, (params as unknown[] | undefined) ?? []);
      if (result !== undefined) payload.result = result;
    } catch (error) {
      payload.error = toClientError(error, `while invoking method '${method}'`, this.log, { session: this.id, methodId: id });
    }
    // Meteor reruns the subscriptions inside the method (its fence waits), so
    // a change the handler started and did not await is still part of it.
    await context.userIdChangesDone();
    this.registry.observers?.methodFinished(method, (performance.now() - started) / 1000);
    // DDP.md: "updated" once all the method's writes are visible to this
    // client. The stores notify observers synchronously inside each write, so
    // by now every resulting data frame has been sent. Meteor sends it first.
    this.send({ msg: 'updated', methods: [id] });
    this.send(payload);
  }

  private async handleSub(msg: DdpMessage, frameLength: number, unblock: () => void): Promise<void> {
    const { id, name, params } = msg;
    if (typeof id !== 'string' || typeof name !== 'string' || ('params' in msg && !Array.isArray(params))) {
      this.sendError('Malformed subscription', msg, frameLength);
      return;
    }
    if (Array.isArray(params) && params.length > this.options.maxParams) {
      this.registry.mistakes.report('too many params', { session: this.id, sub: name.slice(0, 64), params: params.length });
      this.send({ msg: 'nosub', id, error: DdpErrors.tooManyParams(this.options.maxParams).toWire() });
      return;
    }
    const handler = this.registry.publishHandlers.get(name);
    if (!handler) {
      this.send({ msg: 'nosub', id, error: DdpErrors.subscriptionNotFound(name).toWire() });
      return;
    }
    // Subs are idempotent: a repeated id is ignored (matters on reconnect).
    const subs = (this.subscriptions ??= new SessionSubscriptions(this, this.log));
    if (subs.has(id)) return;
    if (subs.size >= this.options.maxSubscriptionsPerSession) return this.closeForMistake('too many subscriptions', 'too many subscriptions');
    // livedata_server.js: after the lookup and the repeated-id check, so neither is counted.
    const limited = this.registry.rateLimiter.limit('subscription', name, this.connection, this.currentUserId);
    if (limited) {
      this.send({ msg: 'nosub', id, error: limited.toWire() });
      return;
    }
    const sub = subs.add(handler, id, (params as unknown[] | undefined) ?? [], name, this.currentUserId);
    sub.unblock = unblock;
    await sub.run();
  }

  // ---- userId (user-id-change.ts) ----------------------------------------

  /**
   * Meteor's _setUserId, for `this.setUserId` in a method: set the userId at
   * once, then rerun the subscriptions after any change still running (one at
   * a time). Throws for a bad id; the promise never rejects. A closed session
   * ignores it.
   */
  setUserId(userId: string | null): Promise<void> {
    checkUserId(userId);
    if (this.closed) return Promise.resolve();
    const previous = this.currentUserId;
    this.currentUserId = userId;
    const run = () => rerunForUserId(this, userId, previous);
    const change = this.userIdChangeTail ? this.userIdChangeTail.then(run) : run();
    this.userIdChangeTail = change;
    void change.then(() => {
      if (this.userIdChangeTail === change) this.userIdChangeTail = null;
    });
    return change;
  }

  /**
   * DdpServer.setUserIdOf: the change waits its turn in the session's queue,
   * so it never lands in the middle of a method. Resolves false if the
   * session closed before it ran.
   */
  setUserIdInTurn(userId: string | null): Promise<boolean> {
    checkUserId(userId);
    if (this.closed) return Promise.resolve(false);
    return new Promise((settle) => {
      const task: UserIdTask = { userId, settle };
      (this.userIdTasks ??= new Set()).add(task);
      // Past the queue's bounds: a client flooding its queue must not hold off its own logout.
      this.queue.push(task, 0, false);
    });
  }

  private async runUserIdTask(task: UserIdTask): Promise<void> {
    this.userIdTasks?.delete(task);
    if (this.userIdTasks?.size === 0) this.userIdTasks = null;
    if (this.closed) return task.settle(false);
    await this.setUserId(task.userId);
    task.settle(true);
  }

  beginRerun(userId: string | null): { clientView: MergeBox | null; rerun: Subscription[] } {
    // A session without subscriptions gets its (empty) view now: one subscribed after the method's unblock must be held back too.
    return (this.subscriptions ??= new SessionSubscriptions(this, this.log)).beginRerun(userId);
  }

  notifyUserIdChange(userId: string | null, previous: string | null): Promise<void> {
    return this.registry.userIdChanged?.(this.connection, userId, previous) ?? Promise.resolve();
  }

  endRerun(clientView: MergeBox | null): void {
    this.subscriptions?.endRerun(clientView);
  }

  get rerunReadyTimeoutMs(): number {
    return this.options.userIdRerunReadyTimeoutMs;
  }

  logRerunError(error: unknown): void {
    this.log.error('Rerunning subscriptions for a userId change failed', { session: this.id, error });
  }

  /** DDP.md "unsub": `nosub` even for an unknown id, as Meteor does. */
  private unsub(subId: string): void {
    if (this.subscriptions) this.subscriptions.stopSubscription(subId);
    else this.send({ msg: 'nosub', id: subId });
  }
}

/** ddp-common's stringifyDDP refuses a truthy id that is not a string (it sends a falsy one as it came). */
function hasUnsendableId(msg: DdpMessage): boolean {
  return Boolean(msg.id) && typeof msg.id !== 'string';
}
