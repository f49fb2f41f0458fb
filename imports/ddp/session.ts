import type { ClientMistakeLog } from '../log/client-mistake-log';
import type { Logger } from '../log/logger';
import type { ConnectionHandle } from './connection-handle';
import type { MethodContext, MethodHandler, PublishHandler } from './contexts';
import { Heartbeat, type HeartbeatTarget } from './heartbeat';
import { MergeBox, type Fields, type MergeBoxOutput } from './merge-box';
import { DdpErrors, toClientError, type ProtocolErrorReason } from './meteor-error';
import type { DdpServerOptions } from './options';
import type { DdpRateLimiter } from './rate-limiter';
import type { DdpObservers } from './server-observers';
import { SessionQueue, type QueueRunner } from './session-queue';
import { Subscription, type SubscriptionHost } from './subscription';
import type { TransportSocket } from './transports/transport-socket';
import { echoOffendingMessage, stringifyDdp, type DdpMessage } from './wire';

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
}

/**
 * One DDP session (Meteor's Session): the serial message queue, the heartbeat,
 * the merge box, named subscriptions and method calls, and the connection
 * handle. Created after a successful `connect`; the socket-level checks before
 * that live in the server.
 */
/** A message waiting in the session's queue, with its frame's length (for the byte bound and the error echo). */
interface InboundMessage {
  msg: DdpMessage;
  frameLength: number;
}

export class Session implements SubscriptionHost, MergeBoxOutput, QueueRunner<InboundMessage>, HeartbeatTarget {
  readonly connection: ConnectionHandle;
  private closed = false;
  private readonly queue: SessionQueue<InboundMessage>;
  /** Methods started and not yet answered: more than one only when methods call `unblock()`. */
  private runningMethods = 0;
  private readonly heartbeat: Heartbeat | null;
  /** `pre1` only, which has no heartbeat: inbound silence of `pre1IdleTimeoutMs` closes the session. */
  private readonly idleTimer: NodeJS.Timeout | null;
  // Allocated on first use: most presence clients never subscribe.
  private mergeBox: MergeBox | null = null;
  private subs: Map<string, Subscription> | null = null;
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
    this.queue = new SessionQueue<InboundMessage>(
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

  get transport(): TransportSocket['transport'] {
    return this.socket.transport;
  }

  /** Names of this session's live subscriptions (read at metrics scrape time; registered names only). */
  *subscriptionNames(): IterableIterator<string> {
    if (this.subs) for (const sub of this.subs.values()) yield sub.name;
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
    if (!offendingMessage) return this.send({ msg: 'error', reason });
    this.registry.mistakes.report(reason === 'Bad request' ? 'bad request' : 'malformed message', { session: this.id });
    const echo = echoOffendingMessage(offendingMessage, frameLength, this.options.maxOffendingMessageBytes);
    this.send({ msg: 'error', reason, offendingMessage: echo });
  }

  close(reason: SessionCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.close();
    this.heartbeat?.stop();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.mergeBox = null;
    this.socket.close();
    this.registry.sessionClosed(this, reason);
    // Meteor defers this so whoever closed the session does not wait on app
    // callbacks: subscriptions' onStop first, then the connection's onClose.
    setImmediate(() => {
      const subs = this.subs;
      const callbacks = this.closeCallbacks;
      this.subs = null;
      this.closeCallbacks = null;
      if (subs) for (const sub of subs.values()) sub.deactivate();
      if (typeof callbacks === 'function') this.runCloseCallback(callbacks);
      else if (callbacks) for (const callback of callbacks) this.runCloseCallback(callback);
    });
  }

  private runCloseCallback(callback: () => void): void {
    try {
      const result: unknown = callback();
      if (result instanceof Promise) result.catch((error) => this.log.error('onClose callback failed', { session: this.id, error }));
    } catch (error) {
      this.log.error('onClose callback failed', { session: this.id, error });
    }
  }

  // ---- MergeBoxOutput, HeartbeatTarget, QueueRunner --------------------

  sendAdded(collection: string, id: string, fields: Fields): void {
    this.send({ msg: 'added', collection, id, fields });
  }

  sendChanged(collection: string, id: string, fields: Fields): void {
    this.send({ msg: 'changed', collection, id, fields });
  }

  sendRemoved(collection: string, id: string): void {
    this.send({ msg: 'removed', collection, id });
  }

  sendPing(): void {
    this.send({ msg: 'ping' });
  }

  onHeartbeatTimeout(): void {
    this.close('heartbeat timeout');
  }

  onTaskError(error: unknown, item: InboundMessage): void {
    this.log.error('Internal exception while processing message', { session: this.id, msg: item.msg.msg, error });
  }

  runTask({ msg, frameLength }: InboundMessage, unblock: () => void): unknown {
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
        else this.stopSubscription(msg.id as string);
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
    const limited = this.registry.rateLimiter.limit('method', method, this.connection);
    if (limited) {
      this.send({ msg: 'updated', methods: [id] });
      this.send({ msg: 'result', id, error: limited.toWire() });
      return;
    }
    const context: MethodContext = {
      connection: this.connection,
      userId: null,
      isSimulation: false,
      randomSeed: typeof msg.randomSeed === 'string' ? msg.randomSeed : null,
      unblock,
    };
    const payload: Record<string, unknown> = { msg: 'result', id };
    const started = performance.now();
    try {
      const result = await handler.apply(context, (params as unknown[] | undefined) ?? []);
      if (result !== undefined) payload.result = result;
    } catch (error) {
      payload.error = toClientError(error, `while invoking method '${method}'`, this.log);
    }
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
    this.subs ??= new Map();
    if (this.subs.has(id)) return;
    if (this.subs.size >= this.options.maxSubscriptionsPerSession) return this.closeForMistake('too many subscriptions', 'too many subscriptions');
    // livedata_server.js: after the lookup and the repeated-id check, so neither is counted.
    const limited = this.registry.rateLimiter.limit('subscription', name, this.connection);
    if (limited) {
      this.send({ msg: 'nosub', id, error: limited.toWire() });
      return;
    }
    const sub = new Subscription(this, handler, id, (params as unknown[] | undefined) ?? [], name);
    sub.unblock = unblock;
    this.subs.set(id, sub);
    await sub.run();
  }

  // ---- SubscriptionHost -------------------------------------------------

  added(handle: string, collection: string, id: string, fields: Fields): void {
    if (!this.closed) (this.mergeBox ??= new MergeBox(this)).added(handle, collection, id, fields);
  }

  changed(handle: string, collection: string, id: string, fields: Fields): void {
    if (!this.closed) (this.mergeBox ??= new MergeBox(this)).changed(handle, collection, id, fields);
  }

  removed(handle: string, collection: string, id: string): void {
    if (!this.closed) (this.mergeBox ??= new MergeBox(this)).removed(handle, collection, id);
  }

  sendReady(subId: string): void {
    this.send({ msg: 'ready', subs: [subId] });
  }

  stopSubscription(subId: string, error?: unknown): void {
    const sub = typeof subId === 'string' ? this.subs?.get(subId) : undefined;
    if (sub) {
      sub.removeAllDocuments();
      sub.deactivate();
      this.subs!.delete(subId);
    }
    const response: Record<string, unknown> = { msg: 'nosub', id: subId };
    if (error) {
      const context = sub ? `from sub ${sub.name} id ${subId}` : `from sub id ${subId}`;
      response.error = toClientError(error, context, this.log);
    }
    this.send(response);
  }

  logStopCallbackError(error: unknown, subId: string): void {
    this.log.error('onStop callback failed', { session: this.id, sub: subId, error });
  }
}

/** ddp-common's stringifyDDP refuses a truthy id that is not a string (it sends a falsy one as it came). */
function hasUnsendableId(msg: DdpMessage): boolean {
  return Boolean(msg.id) && typeof msg.id !== 'string';
}
