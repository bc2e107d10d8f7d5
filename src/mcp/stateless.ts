/**
 * MCP 2026-07-28, the stateless revision: no `initialize`, no `Mcp-Session-Id`, one request
 * per POST, and its method and target mirrored into `Mcp-Method` / `Mcp-Name` headers (next to
 * `MCP-Protocol-Version`) so intermediaries can route without reading the body. What the proxy
 * does with those headers lives here:
 * - when it reads the body anyway, the headers must agree with it (`headerProblem`): a
 *   disagreement is refused 400 with HeaderMismatch (-32020), as the revision requires of
 *   anything that processes the body — a gateway judging one name while the server runs another
 *   is the confused deputy those headers could otherwise create;
 * - when policy cannot depend on the body at all, the body is not parsed (`headerOnlyCall`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { BackendConfig } from '../config/schema.js';
import type { Principal } from '../identity/principal.js';
import { NAMED_CALLS, backendDecision } from '../policy/engine.js';
import { duplicateKey } from '../lib/json-scan.js';
import { META_USER_KEY } from '../propagation/meta.js';
import type { RpcMessage } from './jsonrpc.js';
import type { DeclaredCall, McpRequest } from './request.js';

/** The first revision without sessions; later (date-named) revisions are stateless too. */
export const STATELESS_REVISION = '2026-07-28';
/** JSON-RPC error of the revision: headers missing, malformed or disagreeing with the body. */
export const HEADER_MISMATCH = -32020;
export const INVALID_REQUEST = -32600;
/** The revision's error for a protocol version the server does not speak (with `data.supported`). */
export const UNSUPPORTED_PROTOCOL_VERSION = -32022;
/** Where a stateless request's body repeats its protocol version. */
export const PROTOCOL_VERSION_META = 'io.modelcontextprotocol/protocolVersion';
/** Methods whose `Mcp-Name` the revision requires (resources/subscribe is checked when sent). */
const NAME_REQUIRED = new Set(['tools/call', 'resources/read', 'prompts/get']);

/** Is this `MCP-Protocol-Version` a stateless (2026-07-28 or later) revision? */
export function isStatelessRevision(version: unknown): boolean {
  return typeof version === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= STATELESS_REVISION;
}

/** A request of the stateless revision: its version header, and no legacy session. */
export function isStatelessRequest(headers: IncomingHttpHeaders): boolean {
  return isStatelessRevision(headers['mcp-protocol-version']) && headers['mcp-session-id'] === undefined;
}

/**
 * A header value as the revision encodes it: plain visible ASCII, or `=?base64?…?=` (UTF-8). Undefined when malformed.
 */
export function decodeHeaderValue(raw: string): string | undefined {
  if (!/^[\x20-\x7e\t]*$/.test(raw)) return undefined;
  const m = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/.exec(raw);
  if (!m) return raw;
  const bytes = Buffer.from(m[1]!, 'base64');
  if (bytes.toString('base64').replace(/=+$/, '') !== m[1]!.replace(/=+$/, '')) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

export interface Mirrored {
  method?: string;
  name?: string;
  version?: string;
  /** A header present but unreadable. */
  malformed?: string;
}

export function mirroredHeaders(headers: IncomingHttpHeaders): Mirrored {
  const out: Mirrored = {};
  const version = headers['mcp-protocol-version'];
  if (typeof version === 'string') out.version = version;
  for (const [header, key] of [
    ['mcp-method', 'method'],
    ['mcp-name', 'name'],
  ] as const) {
    const raw = headers[header];
    if (typeof raw !== 'string') continue;
    const value = decodeHeaderValue(raw);
    if (value === undefined)
      out.malformed = `${header === 'mcp-method' ? 'Mcp-Method' : 'Mcp-Name'} header value is malformed`;
    else out[key] = value;
  }
  return out;
}

export interface HeaderProblem {
  /** HTTP status (400 unless set). */
  status?: number;
  code: number;
  message: string;
}

const quote = (v: string) => `'${v.slice(0, 200)}'`;
const mismatch = (header: string, sent: string, body: string | undefined): HeaderProblem => ({
  code: HEADER_MISMATCH,
  message:
    `Header mismatch: ${header} header value ${quote(sent)} does not match body value ` +
    (body === undefined ? '(none)' : quote(body)),
});
const missing = (header: string, why: string): HeaderProblem => ({
  code: HEADER_MISMATCH,
  message: `Header mismatch: the ${header} header is required ${why}`,
});

/**
 * Why a parsed (already valid JSON-RPC) POST body disagrees with its mirrored headers, or
 * undefined. Legacy requests without those headers have nothing to check.
 */
export function headerProblem(
  headers: IncomingHttpHeaders,
  request: Pick<McpRequest, 'messages' | 'batch'>,
): HeaderProblem | undefined {
  const h = mirroredHeaders(headers);
  const stateless = isStatelessRevision(h.version);
  const mirrored = h.method !== undefined || h.name !== undefined || h.malformed !== undefined;
  if (request.batch) {
    if (mirrored || stateless)
      return {
        code: INVALID_REQUEST,
        message: 'a batch cannot carry Mcp-Method / Mcp-Name headers: MCP 2026-07-28 has no batches',
      };
    return undefined;
  }
  const m: RpcMessage = request.messages[0]!;
  const meta = m.params?._meta as Record<string, unknown> | undefined;
  const bodyVersion = meta && typeof meta === 'object' ? meta[PROTOCOL_VERSION_META] : undefined;
  if (!mirrored && !stateless && !isStatelessRevision(bodyVersion)) return undefined;
  if (h.malformed) return { code: HEADER_MISMATCH, message: `Header mismatch: ${h.malformed}` };
  if (typeof bodyVersion === 'string' && h.version === undefined)
    return missing('MCP-Protocol-Version', `with _meta["${PROTOCOL_VERSION_META}"]`);
  if (typeof bodyVersion === 'string' && h.version !== bodyVersion)
    return mismatch('MCP-Protocol-Version', h.version!, bodyVersion);
  if (typeof m.method !== 'string') return undefined; // a response: nothing is mirrored
  const isCall = m.id !== undefined;
  if (h.method === undefined)
    return stateless && isCall ? missing('Mcp-Method', 'on every MCP 2026-07-28 request') : undefined;
  if (h.method !== m.method) return mismatch('Mcp-Method', h.method, m.method);
  const named = Object.hasOwn(NAMED_CALLS, m.method) ? NAMED_CALLS[m.method] : undefined;
  const bodyName = named ? (m.params?.[named.param] as string | undefined) : undefined;
  if (h.name === undefined)
    return stateless && isCall && NAME_REQUIRED.has(m.method) ? missing('Mcp-Name', `for ${m.method}`) : undefined;
  if (h.name !== bodyName) return mismatch('Mcp-Name', h.name, bodyName);
  return undefined;
}

const BACKSLASH = 0x5c;
const OUR_META = Buffer.from(META_USER_KEY.split('/')[0]!);

/**
 * The call to judge from the headers alone, without parsing the body — or undefined: parse.
 * Only where nothing policy or propagation does could depend on the body:
 * - a stateless-revision request to an HTTP backend (whose server must itself refuse headers
 *   that disagree with the body), with a well-formed `Mcp-Method` (and `Mcp-Name` where required);
 * - a backend this principal may use with no tools/resources/prompts rules: every call is
 *   allowed and no list is filtered, whatever the body says;
 * - no `_meta` to set (`identity.meta`), no arguments to audit;
 * - a body that is one object (`{…}`: batches are refused after parsing) with no backslash
 *   (no escaped key can hide), no sign of our `_meta` key, which a client may not send, and no
 *   object repeating a key (the parsing path refuses those, whatever the backend).
 */
export function headerOnlyCall(
  p: Principal,
  b: BackendConfig,
  headers: IncomingHttpHeaders,
  body: Buffer | undefined,
  opts: { auditArguments?: unknown },
): DeclaredCall | undefined {
  if (!b.http || b.identity?.meta === true || opts.auditArguments || !body?.length) return undefined;
  if (b.tools !== undefined || b.resources !== undefined || b.prompts !== undefined) return undefined;
  const h = mirroredHeaders(headers);
  if (
    !isStatelessRevision(h.version) ||
    h.malformed ||
    !h.method ||
    (NAME_REQUIRED.has(h.method) && h.name === undefined)
  )
    return undefined;
  if (!backendDecision(p, b).allow) return undefined;
  let i = 0;
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++;
  if (body[i] !== 0x7b || body.includes(BACKSLASH) || body.includes(OUR_META) || duplicateKey(body) !== undefined)
    return undefined;
  return { method: h.method, name: h.name };
}
