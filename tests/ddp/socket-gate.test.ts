import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import type { Session } from '../../imports/ddp/session';
import { type SessionOpener, SocketGate } from '../../imports/ddp/socket-gate';
import type { TransportSocket } from '../../imports/ddp/transports/transport-socket';
import type { DdpMessage } from '../../imports/ddp/wire';
import type { ClientMistake, ClientMistakeLog } from '../../imports/log/client-mistake-log';
import type { Logger } from '../../imports/log/logger';

/**
 * SocketGate alone, with a fake socket, a fake opener and mocked timers:
 * the connect deadline, what is answered before `connect`, routing after it,
 * and the inbound charging. Wire-level behaviour through real sockets is in
 * tests/ddp/bad-input.test.ts and tests/ddp/handshake.test.ts.
 */

const DEADLINE_MS = 1000;
const OPTIONS = { maxOffendingMessageBytes: 200, maxParams: 5, maxFrameBytes: 4096, frameCostBytes: 10 };

function fakeSocket(inboundMeteredByTransport = false) {
  const sent: Record<string, unknown>[] = [];
  const paused: number[] = [];
  let closes = 0;
  const socket: TransportSocket = {
    transport: 'websocket',
    remoteAddress: '192.0.2.1',
    inboundMeteredByTransport,
    headers: {},
    send: (frame) => sent.push(JSON.parse(frame) as Record<string, unknown>),
    close: () => void closes++,
    pauseReading: (ms) => void paused.push(ms),
    resumeReading() {},
  };
  return { socket, sent, paused, closes: () => closes };
}

function fakeSession() {
  const processed: [DdpMessage, number][] = [];
  const closed: string[] = [];
  let failWith: Error | null = null;
  const session = {
    id: 'session-1',
    processMessage(msg: DdpMessage, frameLength: number) {
      if (failWith) throw failWith;
      processed.push([msg, frameLength]);
    },
    close(reason: string) {
      closed.push(reason);
    },
  };
  return {
    // The gate uses only id, processMessage and close.
    session: session as unknown as Session,
    processed,
    closed,
    failNextWith: (error: Error) => (failWith = error),
  };
}

function fakeOpener(opts: { refuse?: boolean; waitMs?: number } = {}) {
  const fake = fakeSession();
  const opened: DdpMessage[] = [];
  const socketsClosed: TransportSocket[] = [];
  const mistakes: [ClientMistake, Record<string, unknown> | undefined][] = [];
  const charges: [string, number][] = [];
  const opener: SessionOpener = {
    openSession(_socket, msg) {
      opened.push(msg);
      return opts.refuse ? null : fake.session;
    },
    socketClosed: (socket) => void socketsClosed.push(socket),
    mistakes: { report: (kind: ClientMistake, context?: Record<string, unknown>) => void mistakes.push([kind, context]) } as unknown as ClientMistakeLog,
    options: OPTIONS,
    chargeInbound(address, bytes) {
      charges.push([address, bytes]);
      return opts.waitMs ?? 0;
    },
  };
  return { opener, opened, socketsClosed, mistakes, charges, ...fake };
}

function recordingLogger() {
  const lines: { level: string; message: string; context: Record<string, unknown> | undefined }[] = [];
  const at =
    (level: string) =>
    (message: string, context?: Record<string, unknown>): void =>
      void lines.push({ level, message, context });
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { log, lines };
}

function setup(opts: { refuse?: boolean; waitMs?: number; metered?: boolean } = {}) {
  const sock = fakeSocket(opts.metered);
  const open = fakeOpener(opts);
  const { log, lines } = recordingLogger();
  const gate = new SocketGate(sock.socket, open.opener, '192.0.2.1', DEADLINE_MS, log);
  return { gate, lines, ...sock, ...open };
}

const CONNECT = JSON.stringify({ msg: 'connect', version: '1', support: ['1'] });

describe('SocketGate', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  describe('connect deadline', () => {
    test('closes a socket that stays silent past the deadline, once', () => {
      const s = setup();
      mock.timers.tick(DEADLINE_MS - 1);
      assert.equal(s.closes(), 0);
      mock.timers.tick(1);
      assert.equal(s.closes(), 1);
      mock.timers.tick(DEADLINE_MS * 10);
      assert.equal(s.closes(), 1);
      assert.deepEqual(s.sent, [], 'closed without a reply');
    });

    test('frames other than connect do not extend it', () => {
      const s = setup();
      for (let i = 0; i < 9; i++) {
        mock.timers.tick(100);
        s.gate.onFrame(JSON.stringify({ msg: 'ping' }));
      }
      mock.timers.tick(100);
      assert.equal(s.closes(), 1);
    });

    test('a connect that opens a session cancels it', () => {
      const s = setup();
      mock.timers.tick(DEADLINE_MS - 1);
      s.gate.onFrame(CONNECT);
      mock.timers.tick(DEADLINE_MS * 10);
      assert.equal(s.closes(), 0);
    });

    test('a connect the opener refuses (null) leaves it armed', () => {
      const s = setup({ refuse: true });
      s.gate.onFrame(CONNECT);
      mock.timers.tick(DEADLINE_MS);
      assert.equal(s.closes(), 1);
    });

    test('a socket that closed first is not closed again at the deadline', () => {
      const s = setup();
      s.gate.onClose();
      mock.timers.tick(DEADLINE_MS);
      assert.equal(s.closes(), 0);
    });
  });

  describe('before connect', () => {
    const cases: { name: string; frame: string; reply: Record<string, unknown>; mistake: ClientMistake }[] = [
      {
        name: 'a message other than connect',
        frame: '{"msg":"method","id":"1","method":"getSessionId","params":[]}',
        reply: { msg: 'error', reason: 'Must connect first', offendingMessage: { msg: 'method', id: '1', method: 'getSessionId', params: [] } },
        mistake: 'must connect first',
      },
      {
        name: 'a ping',
        frame: '{"msg":"ping"}',
        reply: { msg: 'error', reason: 'Must connect first', offendingMessage: { msg: 'ping' } },
        mistake: 'must connect first',
      },
      // Meteor's parseDDP returns null for text that is not JSON (no "Parse error").
      { name: 'text that is not JSON', frame: 'hello', reply: { msg: 'error', reason: 'Bad request' }, mistake: 'bad request' },
      { name: 'a JSON array', frame: '[1,2]', reply: { msg: 'error', reason: 'Bad request' }, mistake: 'bad request' },
      { name: 'JSON null', frame: 'null', reply: { msg: 'error', reason: 'Bad request' }, mistake: 'bad request' },
      {
        name: 'an object without msg',
        frame: '{"id":"1"}',
        reply: { msg: 'error', reason: 'Bad request', offendingMessage: { id: '1' } },
        mistake: 'bad request',
      },
      {
        name: 'an object with an empty msg',
        frame: '{"msg":""}',
        reply: { msg: 'error', reason: 'Bad request', offendingMessage: { msg: '' } },
        mistake: 'bad request',
      },
      {
        name: 'JSON that is not valid EJSON',
        frame: '{"msg":"method","params":[{"$type":"no-such-type","$value":1}]}',
        reply: { msg: 'error', reason: 'Parse error' },
        mistake: 'parse error',
      },
    ];
    for (const { name, frame, reply, mistake } of cases) {
      test(`${name}: ${String(reply.reason)}, nothing opened, the socket stays open`, () => {
        const s = setup();
        s.gate.onFrame(frame);
        assert.deepEqual(s.sent, [reply]);
        assert.deepEqual(
          s.mistakes.map(([kind]) => kind),
          [mistake],
        );
        assert.deepEqual(s.opened, []);
        assert.equal(s.closes(), 0);
      });
    }

    test('a connect after such mistakes still opens the session', () => {
      const s = setup();
      s.gate.onFrame('{"msg":"sub","id":"1","name":"x"}');
      s.gate.onFrame(CONNECT);
      assert.equal(s.opened.length, 1);
      assert.deepEqual(s.opened[0], JSON.parse(CONNECT));
    });

    test('the offending message is cut down to msg and id when its frame is over maxOffendingMessageBytes', () => {
      const s = setup();
      const big = JSON.stringify({ msg: 'method', id: 'abc', method: 'm', params: ['x'.repeat(OPTIONS.maxOffendingMessageBytes)] });
      s.gate.onFrame(big);
      assert.deepEqual(s.sent, [{ msg: 'error', reason: 'Must connect first', offendingMessage: { msg: 'method', id: 'abc' } }]);
    });
  });

  describe('connect and after', () => {
    test('the connect message goes to the opener; later frames go to the session with their length', () => {
      const s = setup();
      s.gate.onFrame(CONNECT);
      const method = '{"msg":"method","id":"1","method":"getSessionId","params":[]}';
      s.gate.onFrame(method);
      s.gate.onFrame('{"msg":"pong"}');
      assert.deepEqual(
        s.processed,
        [
          [{ msg: 'method', id: '1', method: 'getSessionId', params: [] }, method.length],
          [{ msg: 'pong' }, '{"msg":"pong"}'.length],
        ],
      );
      assert.deepEqual(s.sent, []);
    });

    test('a second connect is answered "Already connected" and opens nothing', () => {
      const s = setup();
      s.gate.onFrame(CONNECT);
      s.gate.onFrame(CONNECT);
      assert.equal(s.opened.length, 1);
      assert.deepEqual(s.sent, [{ msg: 'error', reason: 'Already connected', offendingMessage: JSON.parse(CONNECT) }]);
      assert.deepEqual(s.processed, []);
    });

    test('after a refused connect, another connect is tried again (not "Already connected")', () => {
      const s = setup({ refuse: true });
      s.gate.onFrame(CONNECT);
      s.gate.onFrame(CONNECT);
      assert.equal(s.opened.length, 2);
      assert.deepEqual(s.sent, []);
    });

    test('bad frames after connect are still answered by the gate, with the session id in the mistake', () => {
      const s = setup();
      s.gate.onFrame(CONNECT);
      s.gate.onFrame('not json');
      assert.deepEqual(s.sent, [{ msg: 'error', reason: 'Bad request' }]);
      assert.deepEqual(s.mistakes, [['bad request', { session: 'session-1' }]]);
      assert.deepEqual(s.processed, []);
    });

    test('a session that throws is logged, not thrown to the transport', () => {
      const s = setup();
      s.gate.onFrame(CONNECT);
      s.failNextWith(new Error('boom'));
      assert.doesNotThrow(() => s.gate.onFrame('{"msg":"sub","id":"1","name":"x"}'));
      assert.equal(s.lines.length, 1);
      assert.equal(s.lines[0]?.level, 'error');
      assert.equal(s.lines[0]?.context?.session, 'session-1');
    });

    test('close: the session is closed with "transport closed" and the opener is told, once', () => {
      const s = setup();
      s.gate.onFrame(CONNECT);
      s.gate.onClose();
      assert.deepEqual(s.closed, ['transport closed']);
      assert.equal(s.socketsClosed.length, 1);
      assert.equal(s.socketsClosed[0], s.socket);
    });

    test('close before connect: the opener is told; there is no session to close', () => {
      const s = setup();
      s.gate.onClose();
      assert.deepEqual(s.closed, []);
      assert.equal(s.socketsClosed.length, 1);
    });
  });

  describe('other transport events', () => {
    test('a non-string frame is a Bad request without offendingMessage', () => {
      const s = setup();
      s.gate.onNonStringFrame();
      assert.deepEqual(s.sent, [{ msg: 'error', reason: 'Bad request' }]);
      assert.deepEqual(
        s.mistakes.map(([kind]) => kind),
        ['non-string frame'],
      );
    });

    test('a frame too large is reported and charged maxFrameBytes, without a reply', () => {
      const s = setup();
      s.gate.onFrameTooLarge();
      assert.deepEqual(
        s.mistakes.map(([kind]) => kind),
        ['frame too large'],
      );
      assert.deepEqual(s.charges, [['192.0.2.1', OPTIONS.maxFrameBytes]]);
      assert.deepEqual(s.sent, []);
    });
  });

  describe('inbound charging', () => {
    test('each frame charges its length plus frameCostBytes to the address, valid or not', () => {
      const s = setup();
      s.gate.onFrame('nope');
      s.gate.onFrame(CONNECT);
      assert.deepEqual(s.charges, [
        ['192.0.2.1', 4 + OPTIONS.frameCostBytes],
        ['192.0.2.1', CONNECT.length + OPTIONS.frameCostBytes],
      ]);
      assert.deepEqual(s.paused, []);
    });

    test('over budget, the socket stops reading for the time the budget says', () => {
      const s = setup({ waitMs: 250 });
      s.gate.onFrame(CONNECT);
      assert.deepEqual(s.paused, [250]);
    });

    test('a transport that meters inbound itself is not charged again per frame', () => {
      const s = setup({ metered: true, waitMs: 250 });
      s.gate.onFrame(CONNECT);
      assert.deepEqual(s.charges, []);
      assert.deepEqual(s.paused, []);
    });

    test('raw frames (SockJS over WebSocket) are charged their bytes plus frameCostBytes', () => {
      const s = setup({ waitMs: 40 });
      s.gate.onRawFrame(123);
      assert.deepEqual(s.charges, [['192.0.2.1', 123 + OPTIONS.frameCostBytes]]);
      assert.deepEqual(s.paused, [40]);
    });
  });
});
