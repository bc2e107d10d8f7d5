/**
 * fetch over Fastify inject with streamed answers: a virtual server's member sessions reach this
 * proxy's own `/mcp/<member>` route in-process (SSE answers and GET streams arrive as they are written).
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';

export type Inject = FastifyInstance['inject'];

export function injectFetch(inject: () => Inject, extra: Record<string, string>): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const method = (init?.method ?? 'GET').toUpperCase() as 'GET' | 'POST' | 'DELETE';
    const headers = { ...Object.fromEntries(new Headers(init?.headers).entries()), ...extra };
    const res = await inject()({
      method,
      url: url.pathname + url.search,
      headers,
      payload: typeof init?.body === 'string' ? init.body : undefined,
      payloadAsStream: true,
      signal: init?.signal ?? undefined,
    });
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers))
      if (v !== undefined && k !== 'set-cookie') out.set(k, Array.isArray(v) ? v.join(', ') : String(v));
    const stream = res.stream();
    const empty = res.statusCode === 202 || res.statusCode === 204;
    if (empty) stream.resume();
    return new Response(empty ? null : toWeb(stream), { status: res.statusCode, headers: out });
  }) as typeof fetch;
}

/** Like Readable.toWeb, but an error after the end (an inject response closing) is not thrown at the reader. */
function toWeb(stream: Readable): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      stream.on('data', (chunk: Buffer) => {
        if (!done) controller.enqueue(new Uint8Array(chunk));
      });
      stream.once('end', () => {
        if (!done) controller.close();
        done = true;
      });
      stream.once('error', (e) => {
        if (!done) controller.error(e);
        done = true;
      });
    },
    cancel() {
      done = true;
      stream.destroy();
    },
  });
}
