import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { PRESENCE_NAMES } from '../../imports/app/wire-contract';

/**
 * One held client connection, whatever the protocol: DDP over a raw
 * WebSocket (servers a, b, c) or Socket.IO (server d). `id` is the server's
 * id for it (the DDP session, the socket.io id).
 */
export type Protocol = 'ddp' | 'socketio';

export interface HeldConnection {
  id: string;
  close(): Promise<void>;
  /** Drop the socket at once, no closing handshake (a burst of disconnects). */
  destroy(): void;
  /** Settles when the connection has closed, whoever closed it (the drain section times the server's closes). */
  closed: Promise<void>;
}

export interface MonitorEvents {
  /** A connection appeared in / left the monitor's view. */
  onAdded(id: string): void;
  onRemoved(id: string): void;
}

/**
 * One method call right after the handshake (DDP only), as Meteor's client
 * sends `login` on a reconnect with its resume token: the method frame
 * follows the `connect` frame at once, without waiting for `connected`. The
 * connection opens when the call's `result` arrives; an error `result` fails
 * it. E.g. `{ method: 'login', params: [{ jwt }] }` or `{ method: 'getSessionId', params: [] }`.
 */
export interface FirstCall {
  method: string;
  params: unknown[];
}

const CONNECT_FRAME = JSON.stringify({ msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1'] });
const PONG = '{"msg":"pong"}';
const FIRST_CALL_ID = 'first';

export function openConnection(
  protocol: Protocol,
  url: string,
  localAddress: string,
  monitor?: { token: string; events: MonitorEvents },
  login?: FirstCall,
): Promise<HeldConnection> {
  if (login && protocol !== 'ddp') return Promise.reject(new Error(`a first call is DDP only, not ${protocol}`));
  return protocol === 'ddp' ? openDdp(url, localAddress, monitor, login) : openSocketIo(url, localAddress, monitor);
}

function openDdp(url: string, localAddress: string, monitor?: { token: string; events: MonitorEvents }, login?: FirstCall): Promise<HeldConnection> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress, perMessageDeflate: false });
    let session: string | null = null;
    let loginPending = login !== undefined;
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    const held = (): HeldConnection => ({ id: session!, close: () => (ws.close(), closed), destroy: () => ws.terminate(), closed });
    ws.once('open', () => {
      ws.send(CONNECT_FRAME);
      if (login) ws.send(JSON.stringify({ msg: 'method', method: login.method, params: login.params, id: FIRST_CALL_ID }));
      if (monitor) ws.send(JSON.stringify({ msg: 'sub', id: 'm', name: PRESENCE_NAMES.listPublication, params: [{ token: monitor.token }] }));
    });
    ws.on('message', (data) => {
      const text = data.toString();
      if (session === null) {
        const frame = JSON.parse(text) as { msg: string; session?: string };
        if (frame.msg !== 'connected') return reject(new Error(`handshake: ${text.slice(0, 80)}`));
        session = frame.session!;
        if (!loginPending) resolve(held());
        return;
      }
      if (loginPending && text.startsWith('{"msg":"result"')) {
        const frame = JSON.parse(text) as { id: string; error?: { error?: unknown; reason?: string; message?: string } };
        if (frame.id !== FIRST_CALL_ID) return;
        loginPending = false;
        if (!frame.error) return resolve(held());
        ws.terminate();
        const { error, reason, message } = frame.error;
        return reject(new Error(`${login!.method}: ${reason ?? message ?? 'error'} [${String(error)}]`));
      }
      if (text.startsWith('{"msg":"ping"')) return void ws.send(PONG);
      if (!monitor) return;
      if (text.startsWith('{"msg":"added","collection":"connectedUsers"')) monitor.events.onAdded(JSON.parse(text).id);
      else if (text.startsWith('{"msg":"removed","collection":"connectedUsers"')) monitor.events.onRemoved(JSON.parse(text).id);
    });
    ws.once('error', (error) => (session === null || loginPending ? reject(error) : undefined));
    if (login) ws.once('close', (code) => loginPending && reject(new Error(`closed (${code}) before the login's result`)));
  });
}

function openSocketIo(url: string, localAddress: string, monitor?: { token: string; events: MonitorEvents }): Promise<HeldConnection> {
  return new Promise((resolve, reject) => {
    const socket: Socket = io(url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      perMessageDeflate: false,
      localAddress,
    } as unknown as Parameters<typeof io>[1]); // localAddress and perMessageDeflate reach ws, typed narrower
    const closed = new Promise<void>((r) => socket.once('disconnect', () => r()));
    socket.once('connect_error', reject);
    socket.once('connect', () => {
      if (monitor) {
        socket.on('list', (list: Array<{ id: string }>) => {
          for (const e of list) monitor.events.onAdded(e.id);
        });
        socket.on('join', (e: { id: string }) => monitor.events.onAdded(e.id));
        socket.on('leave', (id: string) => monitor.events.onRemoved(id));
        socket.emit('monitor');
      }
      resolve({ id: socket.id!, close: () => (socket.disconnect(), closed), destroy: () => void socket.disconnect(), closed });
    });
  });
}
