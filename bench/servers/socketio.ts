/**
 * (d) Socket.IO doing the same presence work: a Map of connected sockets;
 * joins and leaves broadcast to a `monitors` room; a monitor gets the list
 * when it joins.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { answerMeasurements } from './ipc';

interface Entry {
  id: string;
  connectedAt: number;
  clientAddress: string;
  userAgent?: string;
}

const connected = new Map<string, Entry>();
const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });

io.on('connection', (socket) => {
  const entry: Entry = {
    id: socket.id,
    connectedAt: Date.now(),
    clientAddress: socket.handshake.address,
    userAgent: socket.handshake.headers['user-agent'],
  };
  connected.set(socket.id, entry);
  io.to('monitors').emit('join', entry);
  socket.on('monitor', () => {
    socket.join('monitors');
    socket.emit('list', [...connected.values()]);
  });
  socket.on('disconnect', () => {
    connected.delete(socket.id);
    io.to('monitors').emit('leave', socket.id);
  });
});

http.listen(0, '127.0.0.1', 4096, () =>
  answerMeasurements((http.address() as { port: number }).port, () => ({ records: connected.size, sockets: io.engine.clientsCount })),
);
