/**
 * Answers sent before the request body was read (413 over the body limit, 403 for a foreign
 * Origin, 401 without a credential): a client still sending its body reads the answer, with
 * undici's fetch (what the MCP SDK uses) and node's http.request alike, never EPIPE or a reset.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { apiKey, startRecorder } from '../helpers/hostile.js';
import { startProxy } from '../helpers/proxy.js';
import { MCP_ACCEPT } from '../helpers/session-client.js';

const rec = await startRecorder();
const alice = apiKey('alice', 'alice');
const proxy = await startProxy({
  server: { logLevel: 'warn' },
  apiKeys: [alice.config],
  backends: [{ name: 'b', http: { url: rec.url } }],
});
t.teardown(async () => {
  await proxy.close();
  await rec.close();
});

const MiB = 1024 * 1024;

// The client runs in a process of its own, as real clients do (in the proxy's own event loop it
// reads the answer before the reset arrives). It posts `size` bytes `times` times with undici's
// fetch or node's http.request, and prints what each attempt read: `status body` or the error code.
const CLIENT =
  `
import { execFile } from 'node:child_process';
const [url, how, size, times, headers] = [process.argv[1], process.argv[2], Number(process.argv[3]), ` +
  `Number(process.argv[4]), JSON.parse(process.argv[5])];
const head = '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"';
const body = Buffer.from(head + 'x'.repeat(size - head.length - 3) + '"}}');
const viaFetch = () => fetch(url, { method: 'POST', headers, body }).then(async (r) => r.status + ' ' + ` +
  `(await r.text()), (e) => e.cause?.code ?? e.message);
const viaHttp = () => new Promise((resolve) => {
  const req = http.request(url, { method: 'POST', headers }, (res) => {
    let text = '';
    res.on('data', (c) => (text += c)).on('end', () => resolve(res.statusCode + ' ' + text)).` +
  `on('error', (e) => resolve(e.code));
  });
  req.on('error', (e) => resolve(e.code));
  req.end(body);
});
for (let i = 0; i < times; i++) console.log(await (how === 'fetch' ? viaFetch() : viaHttp()));
`;

/** What each of `times` POSTs of `size` bytes to /mcp/b read, from a client in another process. */
function post(how: 'fetch' | 'http', size: number, headers: Record<string, string>, times = 6): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        CLIENT,
        `${proxy.url}/mcp/b`,
        how,
        String(size),
        String(times),
        JSON.stringify(headers),
      ],
      (err, stdout) => (err ? reject(err) : resolve(stdout.trim().split('\n'))),
    );
  });
}

const parsed = (text: string): any => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};
const json = { 'content-type': 'application/json', accept: MCP_ACCEPT };
const cases = [
  {
    what: 'a 12 MiB body (limit 4 MiB): 413',
    headers: { ...json, ...alice.headers },
    size: 12 * MiB,
    status: 413,
    code: 'BODY_TOO_LARGE',
  },
  {
    what: 'a 12 MiB body without a credential: 413',
    headers: json,
    size: 12 * MiB,
    status: 413,
    code: 'BODY_TOO_LARGE',
  },
  {
    what: 'a 3 MiB body from a foreign Origin: 403',
    headers: { ...json, ...alice.headers, origin: 'https://evil.example' },
    size: 3 * MiB,
    status: 403,
    code: 'ORIGIN_FORBIDDEN',
  },
];

for (const c of cases) {
  for (const how of ['fetch', 'http'] as const) {
    t.test(`${c.what}, read by ${how === 'fetch' ? 'undici fetch' : 'http.request'}`, async (t) => {
      for (const answer of await post(how, c.size, c.headers)) {
        t.match(answer, new RegExp(`^${c.status} `), 'the status, not EPIPE or a reset');
        t.equal(parsed(answer.slice(4))?.error?.data?.code, c.code, 'the JSON-RPC error body');
      }
    });
  }
}

t.test('the proxy still answers on a fresh connection afterwards', async (t) => {
  const res = await fetch(`${proxy.url}/mcp/b`, {
    method: 'POST',
    headers: { ...json, ...alice.headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });
  t.equal(res.status, 200);
});
