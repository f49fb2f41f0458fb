import type { Logger } from '../log/logger';
import type { ProtocolErrorReason } from './meteor-error';
import type { Session } from './session';
import type { TransportSocket, TransportSocketEvents } from './transports/transport-socket';
import { parseDdp, stringifyDdp, type DdpMessage } from './wire';

/** What the gate needs from the server: turning a `connect` into a session. */
export interface SessionOpener {
  openSession(socket: TransportSocket, msg: DdpMessage): Session | null;
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
    connectDeadlineMs: number,
    private readonly log: Logger,
  ) {
    this.deadline = setTimeout(expire, connectDeadlineMs, this);
    this.deadline.unref();
  }

  onFrame(frame: string): void {
    try {
      let msg: DdpMessage | null;
      try {
        msg = parseDdp(frame);
      } catch {
        return this.sendError('Parse error');
      }
      if (msg === null || !msg.msg) return this.sendError('Bad request', msg);
      if (msg.msg === 'connect') {
        if (this.session) return this.sendError('Already connected', msg);
        this.session = this.opener.openSession(this.socket, msg);
        if (this.session) this.clearDeadline();
        return;
      }
      if (!this.session) return this.sendError('Must connect first', msg);
      this.session.processMessage(msg);
    } catch (error) {
      this.log.error('Internal exception while processing message', { session: this.session?.id, error });
    }
  }

  onClose(): void {
    this.clearDeadline();
    this.session?.close('transport closed');
    this.session = null;
  }

  /** @internal the connect deadline passed */
  expire(): void {
    if (!this.session) this.socket.close();
  }

  private clearDeadline(): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null; // do not keep the spent timer for the socket's lifetime
  }

  private sendError(reason: ProtocolErrorReason, offendingMessage?: DdpMessage | null): void {
    const msg = offendingMessage ? { msg: 'error', reason, offendingMessage } : { msg: 'error', reason };
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
