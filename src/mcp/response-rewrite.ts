/**
 * Rewriting JSON-RPC messages in a backend's response, for JSON bodies and SSE streams alike.
 * SSE events pass through untouched unless their data is a message the rewrite changes; the
 * stream is never buffered beyond one event.
 */
import { Transform } from 'node:stream';
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
  let pending = '';
  const rewriteEvent = (event: string): string => {
    const lines = event.split('\n');
    const dataLines = lines.filter((l) => l.startsWith('data:'));
    if (!dataLines.length) return event;
    const data = dataLines.map((l) => l.slice(5).replace(/^ /, '')).join('\n');
    const next = rewriteJsonBody(data, rewrite);
    if (next === data) return event;
    return [...lines.filter((l) => !l.startsWith('data:')), `data: ${next}`].join('\n');
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      pending += chunk.toString('utf8').replace(/\r\n/g, '\n');
      let out = '';
      let end: number;
      while ((end = pending.indexOf('\n\n')) !== -1) {
        out += `${rewriteEvent(pending.slice(0, end))}\n\n`;
        pending = pending.slice(end + 2);
      }
      done(null, out || undefined);
    },
    flush(done) {
      done(null, pending ? rewriteEvent(pending) : undefined);
    },
  });
}
