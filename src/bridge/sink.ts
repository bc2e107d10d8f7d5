/**
 * Where one 2026-07-28 request's answer goes, and its HTTP form: JSON with the status of the
 * answer when nothing came before it; an SSE stream (200) from the first notification on.
 */
import { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RpcMessage } from '../mcp/jsonrpc.js';

export interface ExchangeSink {
  /** A notification about the request (progress, a log it asked for, a listen-stream event). */
  notify(msg: RpcMessage): void;
  /** The answer; nothing is sent after it. */
  end(status: number, msg: RpcMessage): void;
  /** The client went away before the answer. */
  onClose(fn: () => void): void;
  readonly done: boolean;
  /** The client takes a stream (SSE): notifications can reach it. */
  readonly canStream: boolean;
}

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' };

export function replySink(req: FastifyRequest, reply: FastifyReply): ExchangeSink {
  const sse = String(req.headers.accept ?? '').includes('text/event-stream');
  let stream: PassThrough | undefined;
  let done = false;
  const closers: Array<() => void> = [];
  reply.raw.once('close', () => {
    if (done) return;
    done = true;
    for (const fn of closers) fn();
  });
  const event = (msg: RpcMessage) => stream!.write(`event: message\ndata: ${JSON.stringify(msg)}\n\n`);
  return {
    canStream: sse,
    get done() {
      return done;
    },
    notify(msg) {
      if (done || !sse) return;
      if (!stream) {
        stream = new PassThrough();
        reply.raw.once('pipe', () => reply.raw.flushHeaders());
        void reply.code(200).headers(SSE_HEADERS).send(stream);
      }
      event(msg);
    },
    end(status, msg) {
      if (done) return;
      done = true;
      if (stream) {
        event(msg);
        stream.end();
      } else {
        void reply.code(status).type('application/json').send(msg);
      }
    },
    onClose(fn) {
      closers.push(fn);
    },
  };
}
