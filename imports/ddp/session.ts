import type { Logger } from '../log/logger';
import type { ConnectionHandle } from './connection-handle';
import type { MethodContext, MethodHandler, PublishHandler } from './contexts';
import { Heartbeat, type HeartbeatTarget } from './heartbeat';
import { MergeBox, type Fields, type MergeBoxOutput } from './merge-box';
import { DdpErrors, toClientError, type ProtocolErrorReason } from './meteor-error';
import type { DdpServerOptions } from './options';
import { SessionQueue, type QueueRunner } from './session-queue';
import { Subscription, type SubscriptionHost } from './subscription';
import type { TransportSocket } from './transports/transport-socket';
import { stringifyDdp, type DdpMessage } from './wire';

export type SessionCloseReason =
  | 'transport closed'
  | 'heartbeat timeout'
  | 'closed by app'
  | 'inbound queue overflow'
  | 'server shutdown';

/** What a session needs from the server that owns it. */
export interface SessionRegistry {
  readonly methodHandlers: ReadonlyMap<string, MethodHandler>;
  readonly publishHandlers: ReadonlyMap<string, PublishHandler>;
  sessionClosed(session: Session, reason: SessionCloseReason): void;
}

/**
 * One DDP session (Meteor's Session): the serial message queue, the heartbeat,
 * the merge box, named subscriptions and method calls, and the connection
 * handle. Created after a successful `connect`; the socket-level checks before
 * that live in the server.
 */
export class Session implements SubscriptionHost, MergeBoxOutput, QueueRunner<DdpMessage>, HeartbeatTarget {
  readonly connection: ConnectionHandle;
  private closed = false;
  private readonly queue: SessionQueue<DdpMessage>;
  private readonly heartbeat: Heartbeat | null;
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
    options: DdpServerOptions,
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
    this.queue = new SessionQueue<DdpMessage>(this, options.maxQueuedMessagesPerSession);
    this.send({ msg: 'connected', session: id });
    // DDP.md: heartbeats exist from version "1" and "pre2"; "pre1" has no ping.
    this.heartbeat =
      version !== 'pre1' && options.heartbeatIntervalMs > 0
        ? new Heartbeat(options.heartbeatIntervalMs, options.heartbeatTimeoutMs, this)
        : null;
    this.heartbeat?.start();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Entry point for every parsed message after `connect`. */
  processMessage(msg: DdpMessage): void {
    if (this.closed) return;
    // "Any message counts as receiving a pong" (ddp-server).
    this.heartbeat?.messageReceived();
    if (this.version !== 'pre1' && msg.msg === 'ping') {
      this.send(msg.id === undefined ? { msg: 'pong' } : { msg: 'pong', id: msg.id });
      return;
    }
    if (this.version !== 'pre1' && msg.msg === 'pong') return;
    if (!this.queue.push(msg)) {
      this.log.warn('Inbound queue full; closing session', { session: this.id });
      this.close('inbound queue overflow');
    }
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

  sendError(reason: ProtocolErrorReason, offendingMessage?: unknown): void {
    this.send(offendingMessage ? { msg: 'error', reason, offendingMessage } : { msg: 'error', reason });
  }

  close(reason: SessionCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.close();
    this.heartbeat?.stop();
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

  onTaskError(error: unknown, msg: DdpMessage): void {
    this.log.error('Internal exception while processing message', { session: this.id, msg: msg.msg, error });
  }

  runTask(msg: DdpMessage, unblock: () => void): unknown {
    switch (msg.msg) {
      case 'method':
        return this.handleMethod(msg, unblock);
      case 'sub':
        return this.handleSub(msg, unblock);
      case 'unsub':
        this.stopSubscription(msg.id as string);
        return undefined;
      default:
        this.sendError('Bad request', msg);
        return undefined;
    }
  }

  private async handleMethod(msg: DdpMessage, unblock: () => void): Promise<void> {
    const { id, method, params } = msg;
    if (
      typeof id !== 'string' ||
      typeof method !== 'string' ||
      ('params' in msg && !Array.isArray(params)) ||
      ('randomSeed' in msg && typeof msg.randomSeed !== 'string')
    ) {
      this.sendError('Malformed method invocation', msg);
      return;
    }
    const handler = this.registry.methodHandlers.get(method);
    if (!handler) {
      this.send({ msg: 'result', id, error: DdpErrors.methodNotFound(method).toWire() });
      this.send({ msg: 'updated', methods: [id] });
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
    try {
      const result = await handler.apply(context, (params as unknown[] | undefined) ?? []);
      if (result !== undefined) payload.result = result;
    } catch (error) {
      payload.error = toClientError(error, `while invoking method '${method}'`, this.log);
    }
    // DDP.md: "updated" once all the method's writes are visible to this
    // client. The stores notify observers synchronously inside each write, so
    // by now every resulting data frame has been sent. Meteor sends it first.
    this.send({ msg: 'updated', methods: [id] });
    this.send(payload);
  }

  private async handleSub(msg: DdpMessage, unblock: () => void): Promise<void> {
    const { id, name, params } = msg;
    if (typeof id !== 'string' || typeof name !== 'string' || ('params' in msg && !Array.isArray(params))) {
      this.sendError('Malformed subscription', msg);
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
