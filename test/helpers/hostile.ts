/**
 * Shared pieces for the hostile-input tests (test/security/): a raw HTTP backend that records
 * every request it receives, API-key principals, and requests sent byte for byte (raw socket,
 * or node:http with a path that no client library normalises).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { MCP_ACCEPT } from './session-client.js';

export interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

export interface Recorder {
  url: string;
  seen: Recorded[];
  close(): Promise<void>;
}

/**
 * A minimal MCP-ish HTTP backend: records every request, hands out a session id on
 * `initialize`, answers each JSON-RPC request with `{result: {ok: true}}`.
 */
export async function startRecorder(): Promise<Recorder> {
  const seen: Recorded[] = [];
  let sessions = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: { ...req.headers },
        rawHeaders: [...req.rawHeaders],
        body,
      });
      let msg: any;
      try {
        msg = body ? JSON.parse(body) : undefined;
      } catch {
        return void res
          .writeHead(400, { 'content-type': 'application/json' })
          .end('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}');
      }
      const list = Array.isArray(msg) ? msg : msg ? [msg] : [];
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (list.some((m: any) => m?.method === 'initialize')) headers['mcp-session-id'] = `rec-session-${++sessions}`;
      const answers = list
        .filter((m: any) => m?.id !== undefined && m?.method !== undefined)
        .map((m: any) => ({ jsonrpc: '2.0', id: m.id, result: { ok: true } }));
      if (!answers.length) return void res.writeHead(202).end();
      res.writeHead(200, headers).end(JSON.stringify(Array.isArray(msg) ? answers : answers[0]));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/**
 * POST `body` to `url` (an MCP route whose backend is `rec`) and return the answer with what the
 * recorder received for it alone.
 */
export async function postRecorded(rec: Recorder, url: string, headers: Record<string, string>, body: string) {
  rec.seen.length = 0;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, ...headers },
    body,
  });
  return { status: res.status, json: (await res.json()) as any, seen: [...rec.seen] };
}

/** An API key for the proxy config (`apiKeys` entry) and the header that presents it. */
export function apiKey(name: string, subject: string, extra: Record<string, unknown> = {}) {
  const key = `hostile-test-key-${name}-0123456789`;
  return {
    config: { name, sha256: createHash('sha256').update(key).digest('hex'), subject, ...extra },
    headers: { 'x-api-key': key } as Record<string, string>,
  };
}

/** The status codes of every HTTP response found in a raw response stream. */
export function statusCodes(raw: string): number[] {
  return [...raw.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]));
}

/** Writes `bytes` on a fresh connection and returns everything read until the server closes it (or `waitMs` passes). */
export function rawExchange(port: number, bytes: string | Buffer, waitMs = 1500): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(done, waitMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', (e) => (chunks.length ? done() : reject(e)));
    socket.write(bytes);
  });
}

/** A request with its path sent exactly as given (fetch and undici would normalise `..` and `//`). */
export function verbatim(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const portOf = (url: string) => Number(new URL(url).port);

// ---- a recording stdio backend --------------------------------------------------------------

// Run with `node -e`: appends every line read on stdin to $RECORD_TO, answers `initialize` with a
// minimal result and any other request with `{ok: true}`.
const STDIO_RECORDER =
  `
const { appendFileSync } = require('node:fs');
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  appendFileSync(process.env.RECORD_TO, line + '\\n');
  let m;
  try { m = JSON.parse(line); } catch { return; }
  if (m.id === undefined || m.method === undefined) return;
  const result = m.method === 'initialize'
    ? { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, ` +
  `serverInfo: { name: 'stdio-recorder', version: '1' } }
    : { ok: true };
  process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }) + '\\n');
});
process.stdin.on('end', () => process.exit(0));
`;

/**
 * A stdio MCP-ish server (a real child process per the backend's isolation) recording every
 * message the proxy writes to it, from every child, in one file. `seen()` reads them back.
 */
export function stdioRecorder() {
  const file = join(mkdtempSync(join(tmpdir(), 'stdio-recorder-')), 'seen.jsonl');
  writeFileSync(file, '');
  return {
    backend: (
      name: string,
      isolation: 'session' | 'user' | 'shared' = 'session',
      extra: Record<string, unknown> = {},
    ) => ({
      name,
      stdio: { command: process.execPath, args: ['-e', STDIO_RECORDER], env: { RECORD_TO: file }, isolation },
      ...extra,
    }),
    seen: (): any[] =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  };
}
