import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { guardedTcpStream } from '../../imports/mqtt/packet-size-guard';

/** An MQTT 3.1.1 PUBLISH packet (§3.3), built by hand. */
function publish(topic: string, payload: Buffer, qos: 0 | 1, packetId = 0): Buffer {
  const variable = [Buffer.from([topic.length >> 8, topic.length & 0xff]), Buffer.from(topic)];
  if (qos) variable.push(Buffer.from([packetId >> 8, packetId & 0xff]));
  const body = Buffer.concat([...variable, payload]);
  const length: number[] = [];
  let n = body.length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    length.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x30 | (qos << 1), ...length]), body]);
}

async function exchange(packets: Buffer, chunkSize: number, maxPacketBytes: number) {
  const fromClient: Buffer[] = [];
  const server = createServer((socket: Socket) => {
    socket.on('data', (d) => fromClient.push(d));
    for (let i = 0; i < packets.length; i += chunkSize) socket.write(packets.subarray(i, i + chunkSize));
    setTimeout(() => socket.end(), 50);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const skipped: number[] = [];
  const stream = guardedTcpStream('127.0.0.1', port, maxPacketBytes, (bytes) => skipped.push(bytes));
  const received: Buffer[] = [];
  stream.on('data', (d: Buffer) => received.push(d));
  await new Promise((r) => stream.on('end', r));
  stream.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  return { received: Buffer.concat(received), skipped, fromClient: Buffer.concat(fromClient) };
}

describe('PacketSizeGuard (MQTT 3.1.1 fixed header)', () => {
  const small1 = publish('a/1', Buffer.from('hello'), 0);
  const big = publish('a/big', Buffer.alloc(300_000, 7), 1, 0x1234);
  const small2 = publish('a/2', Buffer.from('world'), 1, 9);
  const stream = Buffer.concat([small1, big, small2]);

  for (const chunkSize of [1, 7, 1000, 1 << 20]) {
    test(`packets over the limit are skipped and a QoS 1 one is acknowledged (chunks of ${chunkSize} bytes)`, async () => {
      const { received, skipped, fromClient } = await exchange(stream, chunkSize, 64 * 1024);
      assert.deepEqual(received, Buffer.concat([small1, small2]));
      assert.deepEqual(skipped, [big.length]);
      assert.deepEqual(fromClient, Buffer.from([0x40, 0x02, 0x12, 0x34]), 'PUBACK for packet id 0x1234');
    });
  }

  test('everything within the limit passes unchanged', async () => {
    const { received, skipped } = await exchange(stream, 4096, 1 << 20);
    assert.deepEqual(received, stream);
    assert.deepEqual(skipped, []);
  });
});
