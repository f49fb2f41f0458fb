/**
 * (c) The floor for Node: a bare `ws` server that answers a DDP connect
 * frame with a connected frame, and nothing else.
 */
import { randomBytes } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { answerMeasurements } from './ipc';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, backlog: 4096 });
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    if (data.toString().includes('"connect"')) ws.send(JSON.stringify({ msg: 'connected', session: randomBytes(12).toString('base64url') }));
  });
  ws.on('error', () => {});
});
wss.on('listening', () => answerMeasurements((wss.address() as { port: number }).port, () => ({ records: wss.clients.size, sockets: wss.clients.size })));
