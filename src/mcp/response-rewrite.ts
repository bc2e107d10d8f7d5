/**
 * Rewriting JSON-RPC messages in a backend's response, for JSON bodies and SSE streams alike.
 * SSE events are parsed and written again field by field (event, id, data, retry, comments);
 * the stream is never buffered beyond one event.
 */
import { Transform } from 'node:stream';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { RpcMessage } from './jsonrpc.js';

export type Rewrite = (m: RpcMessage) => RpcMessage;

export function rewriteJsonBody(text: string, rewrite: Rewrite): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  // Only message-shaped values are rewritten: a backend answering `null`, a number or `[null]`
  // gets its answer passed on as it is (found by the fuzz harness: it used to be a 500).
  const one = (m: unknown) => (m && typeof m === 'object' && !Array.isArray(m) ? rewrite(m as RpcMessage) : m);
  const out = Array.isArray(parsed) ? parsed.map(one) : one(parsed);
  return JSON.stringify(out);
}

/** An SSE Transform: each event's `data:` JSON goes through `rewrite`. */
export function sseRewriter(rewrite: Rewrite): Transform {
  // Bytes become text with a streaming decoder (a character split across chunks stays whole);
  // eventsource-parser splits events on CRLF, LF or CR line ends, as the SSE spec allows.
  const decoder = new TextDecoder('utf-8');
  let out = '';
  const parser = createParser({
    onEvent: (e) => (out += serializeEvent(e, rewrite)),
    onRetry: (ms) => (out += `retry: ${ms}\n`),
    onComment: (c) => (out += `:${c}\n`),
  });
  let lastChar = '';
  const feed = (text: string) => {
    if (text) lastChar = text[text.length - 1]!;
    parser.feed(text);
  };
  const take = () => {
    const text = out;
    out = '';
    return text || undefined;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      feed(decoder.decode(chunk, { stream: true }));
      done(null, take());
    },
    flush(done) {
      feed(decoder.decode());
      // A stream ending in CR: the parser waits for a possible LF; there is none.
      if (lastChar === '\r') parser.feed('\n');
      done(null, take());
    },
  });
}

function serializeEvent(e: EventSourceMessage, rewrite: Rewrite): string {
  let head = '';
  if (e.event !== undefined) head += `event: ${e.event}\n`;
  if (e.id !== undefined) head += `id: ${e.id}\n`;
  const data = rewriteJsonBody(e.data, rewrite);
  return `${head}${data
    .split('\n')
    .map((l) => `data: ${l}`)
    .join('\n')}\n\n`;
}
