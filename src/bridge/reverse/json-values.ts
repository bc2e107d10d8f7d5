/**
 * The JSON values of an `application/json` body as each one completes: one document, or several
 * written one after another (newline-delimited, as some 2026-07-28 servers stream a
 * `subscriptions/listen` answer), so a long-lived body is read event by event, not at its end.
 */
import type { Readable } from 'node:stream';

/**
 * Each top-level object or array of the body once its closing bracket arrives. A body that is no
 * sequence of objects and arrays (a bare scalar, stray text) is parsed whole at its end instead,
 * throwing as JSON.parse does.
 */
export async function* jsonValues(body: Readable): AsyncGenerator<unknown> {
  const decoder = new TextDecoder('utf-8');
  let buf = '';
  let pos = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  /** Not a sequence of objects and arrays: read to the end and parsed whole. */
  let whole = false;
  for await (const chunk of body) {
    buf += typeof chunk === 'string' ? chunk : decoder.decode(chunk as Buffer, { stream: true });
    for (; !whole && pos < buf.length; pos++) {
      const c = buf[pos]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') inString = false;
      } else if (c === '"') {
        if (depth === 0) whole = true;
        inString = true;
      } else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (--depth < 0) whole = true;
        else if (depth === 0) {
          yield JSON.parse(buf.slice(0, pos + 1));
          buf = buf.slice(pos + 1);
          pos = -1;
        }
      } else if (depth === 0 && c !== ' ' && c !== '\n' && c !== '\r' && c !== '\t') whole = true;
    }
  }
  buf += decoder.decode();
  if (buf.trim()) yield JSON.parse(buf);
}
