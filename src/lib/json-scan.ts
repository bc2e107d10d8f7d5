/**
 * Facts about a JSON text that parsing hides: how deep it nests, and whether an object repeats
 * a key. RFC 8259 leaves duplicate keys undefined — JSON.parse keeps the last value, many
 * parsers keep the first — so a proxy judging one reading while a backend acts on the other is
 * a confused deputy. Keys are compared decoded (`"name"` and `"n\u0061me"` are one key).
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

export interface JsonShape {
  /** Deepest nesting of arrays and objects (the scan stops once past the limit). */
  depth: number;
  /** Object members in the text: in valid JSON every colon outside a string separates a key from its value. */
  members: number;
}

/**
 * Depth and member count in one cheap pass (strings skipped);
 * compare `members` with `countMembers` of the parsed value.
 */
export function jsonShape(json: Uint8Array, depthLimit = Infinity): JsonShape {
  let depth = 0;
  let max = 0;
  let members = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === QUOTE) {
      for (i++; i < json.length && json[i] !== QUOTE; i++) if (json[i] === BACKSLASH) i++;
    } else if (c === COLON) members++;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max && (max = depth) > depthLimit) break;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return { depth: max, members };
}

/** Object members in a parsed value: fewer than the text's `members` means a key was repeated (the parser kept one). */
export function countMembers(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (const v of value) n += countMembers(v);
    return n;
  }
  for (const k of Object.keys(value)) n += 1 + countMembers((value as Record<string, unknown>)[k]);
  return n;
}

/** A key as comparable text: its UTF-8 bytes one char each, escapes decoded first when it has any. */
function keyText(json: Buffer, start: number, end: number, escaped: boolean): string {
  if (!escaped) return json.toString('latin1', start, end);
  try {
    return Buffer.from(JSON.parse(json.toString('utf8', start - 1, end + 1)) as string).toString('latin1');
  } catch {
    return json.toString('latin1', start, end); // not JSON: any parser refuses it anyway
  }
}

/**
 * The first key that appears twice in one object of a JSON text (decoded), or undefined. Works
 * on unparsed text; costs a few times more than `jsonShape` (a set of keys per object).
 */
export function duplicateKey(json: Buffer): string | undefined {
  // One entry per open container: an object's keys so far (created at its first key), null for an array.
  const open: Array<Set<string> | undefined | null> = [];
  let start = -1;
  let end = -1;
  let escaped = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === QUOTE) {
      start = i + 1;
      escaped = false;
      for (i++; i < json.length && json[i] !== QUOTE; i++) {
        if (json[i] === BACKSLASH) {
          escaped = true;
          i++;
        }
      }
      end = i;
    } else if (c === COLON) {
      const top = open.length - 1;
      if (top < 0 || open[top] === null || start < 0) continue;
      const key = keyText(json, start, end, escaped);
      const keys = (open[top] ??= new Set());
      if (keys.has(key)) return Buffer.from(key, 'latin1').toString('utf8');
      keys.add(key);
    } else if (c === 0x7b) open.push(undefined);
    else if (c === 0x5b) open.push(null);
    else if (c === 0x7d || c === 0x5d) open.pop();
  }
  return undefined;
}
