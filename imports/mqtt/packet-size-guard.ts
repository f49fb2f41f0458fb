import { Duplex } from 'node:stream';
import { connect, type Socket } from 'node:net';

/**
 * The client's own maximum packet size for MQTT 3.1.1, enforced before
 * anything is buffered: a TCP stream for mqtt.js that reads each packet's
 * fixed header (MQTT 3.1.1 §2.2: one type byte, then the remaining length
 * in up to four 7-bit groups) and lets through only packets of at most
 * `maxPacketBytes`. A larger packet's bytes are skipped as they stream in,
 * never held. A skipped QoS 1 PUBLISH is acknowledged here (§3.4, PUBACK),
 * so the broker does not keep it in flight against us forever.
 *
 * Why not mqtt.js: its parser buffers a whole packet, whatever its size,
 * before anyone sees it; MQTT 5's `maximumPacketSize` would make the broker
 * drop them, but not every broker speaks MQTT 5 (aedes 1.x does not).
 * Example: `new MqttClient(() => guardedTcpStream(host, port, 64 * 1024, onSkip), options)`.
 * Caveat: plain TCP only (mqtt://); a QoS 2 PUBLISH over the limit is skipped unacknowledged.
 */
const PUBLISH = 3;
/** Topic length (2) + the longest topic (65,535) + packet id (2): all a PUBACK needs, and a bound on what we hold. */
const MAX_PUBLISH_PREFIX = 2 + 65_535 + 2;

type Phase = 'type' | 'length' | 'body' | 'skip' | 'skip-prefix';

export class PacketSizeGuard extends Duplex {
  private phase: Phase = 'type';
  private header: number[] = [];
  private remaining = 0;
  private lengthMultiplier = 1;
  private prefix: Buffer[] = [];
  private prefixBytes = 0;

  constructor(
    private readonly tcp: Socket,
    private readonly maxPacketBytes: number,
    private readonly onSkip: (bytes: number) => void,
  ) {
    super();
    tcp.on('data', (chunk: Buffer) => this.screen(chunk));
    tcp.on('end', () => this.push(null));
    tcp.on('close', () => this.destroy());
    tcp.on('error', (error) => this.destroy(error));
    tcp.on('connect', () => this.emit('connect'));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.tcp.write(chunk, callback);
  }

  override _read(): void {
    this.tcp.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.tcp.destroy();
    callback(error);
  }

  private pass(bytes: Buffer): void {
    if (bytes.length && !this.push(bytes)) this.tcp.pause();
  }

  private screen(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.phase === 'type') {
        this.header = [chunk[i++]!];
        this.remaining = 0;
        this.lengthMultiplier = 1;
        this.phase = 'length';
        continue;
      }
      if (this.phase === 'length') {
        const byte = chunk[i++]!;
        this.header.push(byte);
        this.remaining += (byte & 0x7f) * this.lengthMultiplier;
        this.lengthMultiplier *= 128;
        if (byte & 0x80) {
          if (this.header.length > 4) return void this.destroy(new Error('MQTT packet with a malformed remaining length'));
          continue;
        }
        this.sized();
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - i);
      const slice = chunk.subarray(i, i + take);
      i += take;
      this.remaining -= take;
      if (this.phase === 'body') this.pass(slice);
      else if (this.phase === 'skip-prefix') this.collectPrefix(slice);
      if (this.remaining === 0) this.phase = 'type';
    }
  }

  /** The fixed header is complete: let the packet through, or start skipping it. */
  private sized(): void {
    const total = this.header.length + this.remaining;
    if (total <= this.maxPacketBytes) {
      this.pass(Buffer.from(this.header));
      this.phase = this.remaining > 0 ? 'body' : 'type';
      return;
    }
    this.onSkip(total);
    const isQos1Publish = this.header[0]! >> 4 === PUBLISH && ((this.header[0]! >> 1) & 3) === 1;
    this.prefix = [];
    this.prefixBytes = 0;
    this.phase = this.remaining === 0 ? 'type' : isQos1Publish ? 'skip-prefix' : 'skip';
  }

  private collectPrefix(slice: Buffer): void {
    const room = MAX_PUBLISH_PREFIX - this.prefixBytes;
    if (room <= 0) return;
    const kept = slice.subarray(0, room);
    this.prefix.push(kept);
    this.prefixBytes += kept.length;
    this.acknowledgeIfPossible();
  }

  /** Once the topic and packet id of a skipped QoS 1 PUBLISH are in, answer it with PUBACK. */
  private acknowledgeIfPossible(): void {
    if (this.phase !== 'skip-prefix') return;
    const prefix = Buffer.concat(this.prefix);
    if (prefix.length < 2) return;
    const idAt = 2 + prefix.readUInt16BE(0);
    if (prefix.length < idAt + 2) return;
    this.tcp.write(Buffer.from([0x40, 0x02, prefix[idAt]!, prefix[idAt + 1]!]));
    this.prefix = [];
    this.phase = 'skip';
  }
}

export function guardedTcpStream(host: string, port: number, maxPacketBytes: number, onSkip: (bytes: number) => void): PacketSizeGuard {
  // No Nagle: a lone small publish (a close's empty retained record) otherwise waits for the ACK of the
  // previous one; in a two-instance run close→removal at a monitor went from p50 45 ms to 3–6 ms without it.
  const tcp = connect(port, host).setNoDelay(true);
  return new PacketSizeGuard(tcp, maxPacketBytes, onSkip);
}
