import type { ClientMistakeLog } from '../log/client-mistake-log';
import type { Logger } from '../log/logger';
import type { ProtocolErrorReason } from './meteor-error';
import type { Session } from './session';
import type { TransportSocket, TransportSocketEvents } from './transports/transport-socket';
import { parseDdp, protocolError, stringifyDdp, type DdpMessage } from './wire';

/** What the gate needs from the server: turning a `connect` into a session, and where client mistakes are logged. */
export interface SessionOpener {
  openSession(socket: TransportSocket, msg: DdpMessage): Session | null;
  /** The socket closed; admission control stops counting it as pending `connect`. */
  socketClosed(socket: TransportSocket): void;
  readonly mistakes: ClientMistakeLog;
  readonly options: { readonly maxOffendingMessageBytes: number; readonly maxParams: number; readonly maxFrameBytes: number; readonly frameCostBytes: number };
  /** Charge `bytes` to that address's inbound budget; ms its sockets must stop reading (0: none). */
  chargeInbound(address: string, bytes: number): number;
}

/**
 * The socket-level part of DDP, before and around a session (Meteor's
 * stream_server `data` handler): parse every frame, answer bad input with
 * Meteor's `{msg:"error"}` replies, route `connect`, and hand everything
 * else to the session. One gate per socket; a socket that has not connected
 * by `connectDeadlineMs` is closed.
 */
export class SocketGate implements TransportSocketEvents {
  private session: Session | null = null;
  private deadline: NodeJS.Timeout | null;

  constructor(
    private readonly socket: TransportSocket,
    private readonly opener: SessionOpener,
    /** The client address the per-address bounds count by (resolved once, by the server). */
    private readonly address: string,
    connectDeadlineMs: number,
    private readonly log: Logger,
  ) {
    this.deadline = setTimeout(expire, connectDeadlineMs, this);
    this.deadline.unref();
  }

  onFrame(frame: string): void {
    if (!this.socket.inboundMeteredByTransport) this.charge(frame.length);
    try {
      let msg: DdpMessage | null;
      try {
        msg = parseDdp(frame, this.opener.options.maxParams);
      } catch {
        this.opener.mistakes.report('parse error', { session: this.session?.id });
        return this.sendError('Parse error');
      }
      if (msg === null || !msg.msg) {
        this.opener.mistakes.report('bad request', { session: this.session?.id });
        return this.sendError('Bad request', msg, frame.length);
      }
      if (msg.msg === 'connect') {
        if (this.session) return this.sendError('Already connected', msg, frame.length);
        this.session = this.opener.openSession(this.socket, msg);
        if (this.session) this.clearDeadline();
        return;
      }
      if (!this.session) {
        this.opener.mistakes.report('must connect first');
        return this.sendError('Must connect first', msg, frame.length);
      }
      this.session.processMessage(msg, frame.length);
    } catch (error) {
      this.log.error('Internal exception while processing message', { session: this.session?.id, error });
    }
  }

  onRawFrame(bytes: number): void {
    this.charge(bytes);
  }

  /** What the sender sent counts against its address's budget; over it, its socket is not read for a while. */
  private charge(bytes: number): void {
    const waitMs = this.opener.chargeInbound(this.address, bytes + this.opener.options.frameCostBytes);
    if (waitMs > 0) this.socket.pauseReading(waitMs);
  }

  /** Refused bytes were still received: they count against the address's budget, so a stream of oversize frames is slowed like any other. */
  onFrameTooLarge(): void {
    this.opener.mistakes.report('frame too large', { session: this.session?.id });
    this.opener.chargeInbound(this.address, this.opener.options.maxFrameBytes);
  }

  /** Meteor parses whatever sockjs hands it as JSON text; a non-string never yields an object, so: Bad request. */
  onNonStringFrame(): void {
    this.opener.mistakes.report('non-string frame', { session: this.session?.id });
    this.sendError('Bad request');
  }

  /** Reported here, not by the transport: the gate knows the session, and the mistake log keeps a crowd of slow readers to one line per interval. */
  onNotReading(bufferedBytes: number): void {
    this.opener.mistakes.report('not reading', { session: this.session?.id, transport: this.socket.transport, bufferedBytes });
  }

  onClose(): void {
    this.clearDeadline();
    this.session?.close('transport closed');
    this.session = null;
    this.opener.socketClosed(this.socket);
  }

  /** @internal the connect deadline passed */
  expire(): void {
    if (!this.session) this.socket.close();
  }

  private clearDeadline(): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null; // do not keep the spent timer for the socket's lifetime
  }

  private sendError(reason: ProtocolErrorReason, offendingMessage?: DdpMessage | null, frameLength = 0): void {
    const msg = protocolError(reason, offendingMessage, frameLength, this.opener.options.maxOffendingMessageBytes);
    try {
      this.socket.send(stringifyDdp(msg));
    } catch (error) {
      this.log.debug('Could not serialise an error reply', { reason, error });
    }
  }
}

function expire(gate: SocketGate): void {
  gate.expire();
}
