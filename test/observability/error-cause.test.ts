// The one helper that says why a network call failed (src/lib/error-cause.ts), on real failures, and the
// readable log lines (src/observability/pretty.ts).
import t from 'tap';
import { createServer } from 'node:net';
import { PassThrough } from 'node:stream';
import { errorCause } from '../../src/lib/error-cause.js';
import { chooseLogFormat, formatLine, prettyStream } from '../../src/observability/pretty.js';
import { startHttpsServer } from '../helpers/https-server.js';
import { freePort } from '../helpers/ports.js';

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );

t.test('fetch failed → the refused address', async (t) => {
  const port = await freePort();
  const e = await failure(fetch(`http://127.0.0.1:${port}/`));
  t.equal((e as Error).message, 'fetch failed', 'what fetch says');
  t.equal(errorCause(e), `ECONNREFUSED 127.0.0.1:${port}`);
});

t.test('fetch failed → the TLS reason', async (t) => {
  const https = await startHttpsServer((_req, res) => res.end('ok'));
  t.teardown(() => https.close());
  const e = await failure(fetch(`https://${https.host}/`)); // a self-signed certificate nobody trusts
  t.match(errorCause(e), /^TLS: .*self[- ]signed.* \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\)$/);
});

t.test('fetch failed → the connection cut short', async (t) => {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const e = await failure(fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/`));
  t.notMatch(errorCause(e), /^fetch failed$/);
  t.match(errorCause(e), /other side|ECONNRESET|closed/);
});

t.test('DNS, timeouts and wrappers that add words', async (t) => {
  const dns = Object.assign(new Error('getaddrinfo ENOTFOUND idp.example'), {
    code: 'ENOTFOUND',
    hostname: 'idp.example',
  });
  t.equal(errorCause(new TypeError('fetch failed', { cause: dns })), 'ENOTFOUND idp.example');
  t.equal(errorCause(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), 'timeout');
  const refused = Object.assign(new Error('connect ECONNREFUSED ::1:9'), { code: 'ECONNREFUSED' });
  t.equal(errorCause(Object.assign(new AggregateError([refused]), { code: 'ECONNREFUSED' })), 'ECONNREFUSED ::1:9');
  t.equal(errorCause(new Error('discovery', { cause: dns })), 'discovery: ENOTFOUND idp.example');
  t.equal(errorCause(new Error('plain')), 'plain');
  const answer = { error: 'invalid_client', error_description: 'bad secret' }; // openid-client: the IdP's body
  t.equal(
    errorCause(Object.assign(new Error('server responded with an error', { cause: answer }), { code: 'X' })),
    'server responded with an error (X)',
  );
  t.equal(errorCause('a string'), 'a string');
});

t.test('log format: flag, then config or environment, then terminal or not', async (t) => {
  t.equal(chooseLogFormat('json', 'pretty', true), 'json');
  t.equal(chooseLogFormat(undefined, 'pretty', false), 'pretty');
  t.equal(chooseLogFormat(undefined, undefined, true), 'pretty');
  t.equal(chooseLogFormat(undefined, undefined, false), 'json');
});

t.test('pretty lines: one per event; an unexpected error keeps its stack, a warning has none', async (t) => {
  const time = '2026-12-06T09:01:02.345Z';
  const local = new Date(time);
  const clock = `${String(local.getHours()).padStart(2, '0')}:${String(local.getMinutes()).padStart(2, '0')}:02.345`;
  t.equal(
    formatLine({ level: 40, time, msg: 'IdP discovery failed', event: 'idp', reason: 'ENOTFOUND x', pid: 1 }),
    `${clock} WARN  IdP discovery failed  event=idp reason="ENOTFOUND x"\n`,
  );
  t.equal(
    formatLine({ level: 40, time, msg: 'backend down: ECONNREFUSED 127.0.0.1:9', reason: 'ECONNREFUSED 127.0.0.1:9' }),
    `${clock} WARN  backend down: ECONNREFUSED 127.0.0.1:9\n`,
    'a field the message already says is not repeated',
  );
  const err = { type: 'TypeError', message: 'boom', stack: 'TypeError: boom\n    at f (a.js:1:1)' };
  const line = formatLine({ level: 50, time, msg: 'request failed', reqId: 'req-7', err });
  t.match(line, /^\d\d:\d\d:02\.345 ERROR request failed {2}\[req-7\] {2}TypeError: boom\n {4}at f \(a\.js:1:1\)\n$/);
  t.equal(
    formatLine({
      level: 30,
      time,
      msg: 'request completed',
      req: { method: 'GET', url: '/x' },
      res: { statusCode: 200 },
    }),
    `${clock} INFO  GET /x → 200\n`,
  );
  const audit = formatLine({
    level: 30,
    time,
    audit: true,
    decision: 'deny',
    reason: 'no rule',
    principal: { id: 'session:alice', email: 'alice@example.com' },
    backend: 'tickets',
    method: 'tools/call',
    name: 'delete',
    status: 403,
    latencyMs: 2,
  });
  t.equal(audit, `${clock} AUDIT DENY alice@example.com → tickets tools/call delete 403 2ms  reason="no rule"\n`);

  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const stream = prettyStream(out, false);
  stream.write(`{"level":30,"time":"${time}","msg":"one"}\n{"level":30,"ti`);
  stream.write(`me":"${time}","msg":"two"}\nnot json\n`);
  await new Promise<void>((r) => stream.end(r));
  t.equal(text, `${clock} INFO  one\n${clock} INFO  two\nnot json\n`, 'lines split across writes are whole again');
});
