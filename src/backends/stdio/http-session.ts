/**
 * The streamable HTTP side of one MCP session on a stdio backend (MCP 2025-06-18 "Streamable
 * HTTP"), written straight onto Fastify replies rather than through the SDK's server
 * transport (which converts every request to a web Request and back, and holds far more per
 * session).
 *
 * - POST with requests: answered as JSON when every answer comes back with nothing else on
 *   the way (the common case: one write, no SSE framing); switched to an SSE stream as soon as
 *   a notification or a server→client request for that POST arrives (progress, sampling), or
 *   from the start when the client accepts only `text/event-stream`.
 * - POST with only notifications/responses: 202.
 * - GET: the session's one standalone SSE stream (a second one is 409), for messages that
 *   belong to no POST.
 * - Messages with nowhere to go are dropped (and logged at debug by the caller).
 */
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Errors } from '../../errors.js';
import { rpcError, type RequestId, type RpcMessage as Message } from '../../mcp/jsonrpc.js';
import type { McpRequest } from '../../mcp/request.js';
import { backendTimer } from '../../observability/request-facts.js';

const sseEvent = (m: unknown) => `event: message\ndata: ${JSON.stringify(m)}\n\n`;
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' };

/** One POST's requests waiting for their answers. */
class Exchange {
  private readonly waiting: Set<RequestId>;
  private readonly answers: Message[] = [];
  private stream?: PassThrough;

  constructor(
    ids: RequestId[],
    private readonly batch: boolean,
    sseOnly: boolean,
    private readonly reply: FastifyReply,
    private readonly done: () => void,
    private readonly answered: () => void = () => undefined,
  ) {
    this.waiting = new Set(ids);
    if (sseOnly) this.toStream();
  }

  push(m: Message): void {
    this.answered();
    const final = m.method === undefined && m.id != null && this.waiting.delete(m.id);
    if (this.stream) this.stream.write(sseEvent(m));
    else if (final) this.answers.push(m);
    else this.toStream().write(sseEvent(m));
    if (this.waiting.size === 0) this.finish();
  }

  /** Ends the exchange; requests still waiting get `message` as their error. */
  abort(message: string): void {
    for (const id of this.waiting) this.push(rpcError(id, -32000, message));
  }

  private toStream(): PassThrough {
    if (this.stream) return this.stream;
    const stream = (this.stream = new PassThrough());
    for (const a of this.answers.splice(0)) stream.write(sseEvent(a));
    this.reply.raw.once('close', () => stream.destroy());
    this.reply.code(200).headers(SSE_HEADERS);
    // Fastify writes a streamed head with its first chunk; send it now, the first event may take a while.
    this.reply.raw.once('pipe', () => this.reply.raw.flushHeaders());
    this.reply.send(stream);
    return stream;
  }

  private finish(): void {
    this.done();
    if (this.stream) this.stream.end();
    else
      this.reply
        .code(200)
        .type('application/json')
        .send(JSON.stringify(this.batch ? this.answers : this.answers[0]));
  }
}

export class McpHttpSession {
  readonly id = randomUUID();
  private readonly exchanges = new Map<RequestId, Exchange>();
  private getStream?: PassThrough;

  get getStreamOpen(): boolean {
    return this.getStream !== undefined;
  }

  /**
   * A POST (its messages checked by the pipeline's validate stage): `forward` hands each
   * message to the child. Resolves once the reply is under way (JSON sent, or the SSE stream started).
   */
  post(
    req: FastifyRequest,
    reply: FastifyReply,
    request: Pick<McpRequest, 'messages' | 'batch'>,
    forward: (m: Message) => void,
  ): void {
    const { messages } = request;
    const ids = messages.filter((m) => m.method !== undefined && m.id != null).map((m) => m.id!);
    if (!ids.length) {
      reply.code(202).send();
      for (const m of messages) forward(m);
      return;
    }
    const accept = String(req.headers.accept ?? '');
    const sseOnly =
      accept.includes('text/event-stream') && !accept.includes('application/json') && !accept.includes('*/*');
    const exchange = new Exchange(
      ids,
      request.batch,
      sseOnly,
      reply,
      () => {
        for (const id of ids) if (this.exchanges.get(id) === exchange) this.exchanges.delete(id);
      },
      backendTimer(req),
    );
    for (const id of ids) this.exchanges.set(id, exchange);
    if (req.method === 'POST' && messages.some((m) => m.method === 'initialize'))
      reply.header('mcp-session-id', this.id);
    for (const m of messages) forward(m);
  }

  /** The standalone SSE stream. */
  get(req: FastifyRequest, reply: FastifyReply): void {
    if (!String(req.headers.accept ?? '').includes('text/event-stream'))
      throw new Errors.NOT_ACCEPTABLE('GET needs Accept: text/event-stream');
    if (this.getStream) throw new Errors.CONFLICT('this MCP session already has a GET stream');
    const stream = (this.getStream = new PassThrough());
    const gone = () => {
      if (this.getStream === stream) this.getStream = undefined;
      stream.destroy();
    };
    reply.raw.once('close', gone);
    reply.code(200).headers(SSE_HEADERS);
    reply.raw.once('pipe', () => reply.raw.flushHeaders());
    reply.send(stream);
  }

  /**
   * A message for the client: on the stream of the POST it relates
   * to, else the GET stream. False when it had nowhere to go.
   */
  deliver(m: Message, relatedRequestId?: RequestId): boolean {
    // A response relates to the request it answers.
    const related = relatedRequestId ?? (m.method === undefined ? m.id : undefined);
    const exchange = related != null ? this.exchanges.get(related) : undefined;
    if (exchange) {
      exchange.push(m);
      return true;
    }
    if (!this.getStream) return false;
    this.getStream.write(sseEvent(m));
    return true;
  }

  /** The session ended: calls still waiting are answered with an error, streams end. */
  close(reason = 'the MCP session ended'): void {
    for (const e of new Set(this.exchanges.values())) e.abort(reason);
    this.getStream?.end();
    this.getStream = undefined;
  }
}
