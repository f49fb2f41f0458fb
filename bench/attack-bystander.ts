/**
 * The bystander of the attack scenario: one legitimate DDP client, in its
 * own process, sending `{msg:'ping', id}` every ~50 ms and timing each
 * `pong`. Pings still unanswered a grace period after `stop()` are lost,
 * and so are those it could not send because its connection was gone (they
 * count as infinitely slow in the scenario's percentiles).
 */
import WebSocket from 'ws';

export interface BystanderReport {
  rttsMs: number[];
  sent: number;
  lost: number;
  /** Why the connection ended during the run, if it did. */
  closed?: string;
}

const CONNECT = JSON.stringify({ msg: 'connect', version: '1', support: ['1'] });

export class Bystander {
  private readonly sentAt = new Map<string, number>();
  private readonly rtts: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sent = 0;
  private unsent = 0;
  private closed: string | undefined;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => this.onMessage(data.toString()));
    ws.on('close', (code) => (this.closed ??= `closed by the server (${code})`));
    ws.on('error', (error) => (this.closed ??= error.message));
  }

  static connect(url: string, localAddress: string): Promise<Bystander> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { localAddress, perMessageDeflate: false, handshakeTimeout: 10_000 });
      ws.once('error', reject);
      ws.once('open', () => ws.send(CONNECT));
      ws.once('message', (data) => {
        if (!data.toString().startsWith('{"msg":"connected"')) return reject(new Error(`bystander: ${data.toString().slice(0, 80)}`));
        resolve(new Bystander(ws));
      });
    });
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => this.ping(), intervalMs);
  }

  async stop(graceMs: number): Promise<BystanderReport> {
    if (this.timer) clearInterval(this.timer);
    const until = performance.now() + graceMs;
    while (this.sentAt.size > 0 && !this.closed && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
    const report: BystanderReport = { rttsMs: this.rtts, sent: this.sent, lost: this.sentAt.size + this.unsent, closed: this.closed };
    this.ws.terminate();
    return report;
  }

  private ping(): void {
    if (this.ws.readyState !== WebSocket.OPEN) return void this.unsent++; // no service is lost service
    const id = `b${this.sent++}`;
    this.sentAt.set(id, performance.now());
    this.ws.send(`{"msg":"ping","id":"${id}"}`);
  }

  private onMessage(text: string): void {
    if (text.startsWith('{"msg":"ping"')) return void this.ws.send('{"msg":"pong"}');
    if (!text.startsWith('{"msg":"pong"')) return;
    const id = (JSON.parse(text) as { id?: string }).id;
    const t0 = id === undefined ? undefined : this.sentAt.get(id);
    if (t0 === undefined) return;
    this.sentAt.delete(id!);
    this.rtts.push(performance.now() - t0);
  }
}
