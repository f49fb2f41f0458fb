import { CONNECT_MESSAGE, openChannel } from './transports';

/**
 * The bystander: a well-behaved client from an address no fuzz case uses,
 * which the fuzzer asks after every case whether the app still serves
 * others, and (in long runs) how many connections the app holds.
 *
 * Example: `await freshClientGetsSessionId(app.url, 2000)` throws unless a
 * new client completes `connect` and gets its own session id back in time.
 */

/** The bystander's address; fuzz cases come from 127.1.x.y (transports.ts caseSourceAddress). */
export const BYSTANDER_ADDRESS = '127.0.0.2';

/**
 * A fresh client on `/websocket`: `connect`, then method `getSessionId`,
 * whose result must equal the session id of `connected`, within `timeoutMs`.
 */
export async function freshClientGetsSessionId(baseUrl: string, timeoutMs: number, localAddress = BYSTANDER_ADDRESS): Promise<void> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const channel = await Promise.race([
    openChannel('websocket', baseUrl, localAddress),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`fresh client: no WebSocket within ${timeoutMs} ms`)), timeoutMs))),
  ]).finally(() => clearTimeout(timer));
  try {
    await channel.sendDdp(CONNECT_MESSAGE);
    const left = () => Math.max(1, timeoutMs - (Date.now() - started));
    if ((await channel.waitFor((m) => m.msg === 'connected' || m.msg === 'failed', left(), 'connected')) === 'closed') {
      throw new Error(`fresh client: socket closed (code ${channel.closeCode}) before connected`);
    }
    const connected = channel.messages.find((m) => m.msg === 'connected');
    if (!connected || typeof connected.session !== 'string') throw new Error(`fresh client: no connected frame: ${JSON.stringify(channel.messages)}`);
    await channel.sendDdp({ msg: 'method', id: 'health', method: 'getSessionId', params: [] });
    if ((await channel.waitFor((m) => m.msg === 'result' && m.id === 'health', left(), 'getSessionId result')) === 'closed') {
      throw new Error(`fresh client: socket closed (code ${channel.closeCode}) before the getSessionId result`);
    }
    const result = channel.messages.find((m) => m.msg === 'result' && m.id === 'health')!;
    if (result.result !== connected.session) throw new Error(`fresh client: getSessionId gave ${JSON.stringify(result)} for session ${connected.session}`);
    if (channel.violations.length) throw new Error(`fresh client: wire violations ${channel.violations.join('; ')}`);
  } finally {
    await channel.close();
  }
}

/**
 * The app's own count of open DDP connections (publication
 * `list.connectedUsers.count`), from a client on `localAddress`, itself
 * included; a count that only grows across rounds is a session leak.
 */
export async function connectionCount(baseUrl: string, timeoutMs = 2000, localAddress = BYSTANDER_ADDRESS): Promise<number> {
  const channel = await openChannel('websocket', baseUrl, localAddress);
  try {
    await channel.sendDdp(CONNECT_MESSAGE);
    await channel.sendDdp({ msg: 'sub', id: 'count', name: 'list.connectedUsers.count', params: [] });
    const isCount = (m: Record<string, unknown>) => m.msg === 'added' && m.collection === 'connectedUsers.count';
    if ((await channel.waitFor(isCount, timeoutMs, 'the connection count')) === 'closed') throw new Error('closed before the count');
    const added = channel.messages.find(isCount)!;
    return (added.fields as { count: number }).count;
  } finally {
    await channel.close();
  }
}
