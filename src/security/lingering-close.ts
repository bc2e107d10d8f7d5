/**
 * nginx's lingering close, for answers sent before the request body was read (413 over the body
 * limit, a refusal in an onRequest hook): closing the socket while the client is still sending
 * makes the kernel answer the rest with a reset, and the client (undici's fetch, node's
 * http.request) reads EPIPE or ECONNRESET instead of the answer. Such a connection instead ends
 * our side after the answer, reads and discards what the client still sends until it stops
 * (its FIN) or LINGER_MS pass, then closes. Node has no option for this, hence these few lines.
 */
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

const LINGER_MS = 5000;
const lingering = new WeakSet<Socket>();

function linger(socket: Socket): void {
  if (lingering.has(socket)) return;
  lingering.add(socket);
  // Node's http server calls destroySoon() once a `Connection: close` answer is written.
  socket.destroySoon = function lingeringClose(this: Socket) {
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    this.once('end', () => this.destroy());
    this.end();
    this.resume(); // the request is dumped: its bytes are read and dropped
  };
}

export function lingeringClose(app: FastifyInstance): void {
  app.addHook('onSend', (req, reply, payload, done) => {
    if (!req.raw.complete && req.raw.httpVersionMajor === 1 && req.raw.socket) {
      // The rest of the body is not worth keeping the connection for: close after lingering.
      reply.header('connection', 'close');
      linger(req.raw.socket);
    }
    done(null, payload);
  });
}
