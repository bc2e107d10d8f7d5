// /readyz says in words what each backend's probe found, per kind: a live HTTP MCP server answering
// 400/405 to a plain GET is healthy ("reachable"), a missing endpoint, a server error and a closed
// port are not (with the cause); stdio says whether its command is found; a virtual server is as
// ready as its members. Unit checks of the HTTP answer classes, then a real proxy.
import t from 'tap';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDemoHttpServer } from '../../examples/demo-http-server.mjs';
import { httpProbeFailure, httpProbeStatus } from '../../src/backends/probe.js';
import { freePort } from '../helpers/ports.js';
import { startProxy } from '../helpers/proxy.js';

t.test('what an HTTP answer to the probe means', async (t) => {
  for (const code of [200, 400, 405, 406]) {
    const s = httpProbeStatus(code);
    t.equal(s.ok, true, `${code}: ok`);
    t.match(s.detail, new RegExp(`^reachable \\(HTTP ${code}`), `${code}: reachable`);
    t.equal(s.kind, 'http');
  }
  t.match(httpProbeStatus(401), { ok: true, detail: /credentials of its own/ });
  t.match(httpProbeStatus(404), { ok: false, detail: /no MCP endpoint at this URL \(HTTP 404\)/ });
  t.match(httpProbeStatus(302), { ok: false, detail: /redirected/ });
  t.match(httpProbeStatus(503), { ok: false, detail: 'server error (HTTP 503)' });
  t.match(httpProbeFailure(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), {
    ok: false,
    detail: 'unreachable: connection refused: nothing listens there (ECONNREFUSED)',
  });
});

/** A plain HTTP server answering every request with `status` (not an MCP server). */
async function answering(status: number): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => res.writeHead(status).end('no'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp` };
}

t.test('a real proxy reports every kind of backend with a meaningful detail', async (t) => {
  const demo = await startDemoHttpServer();
  const missing = await answering(404);
  const broken = await answering(500);
  const closed = `http://127.0.0.1:${await freePort()}/mcp`;
  const proxy = await startProxy({
    apiKeys: [{ name: 'k', sha256: 'a'.repeat(64), subject: 'svc:k' }],
    backends: [
      { name: 'demo', http: { url: demo.url } },
      { name: 'wrongpath', http: { url: missing.url } },
      { name: 'broken', http: { url: broken.url } },
      { name: 'down', http: { url: closed } },
      { name: 'local', stdio: { command: 'node', args: ['examples/demo-stdio-server.mjs'] } },
      { name: 'nocmd', stdio: { command: '/nonexistent/server' } },
    ],
    virtualServers: [
      {
        name: 'fine',
        backends: [
          { name: 'demo', prefix: 'd' },
          { name: 'local', prefix: 'l' },
        ],
      },
      {
        name: 'partial',
        backends: [
          { name: 'demo', prefix: 'd' },
          { name: 'down', prefix: 'x' },
        ],
      },
    ],
  });
  t.teardown(async () => {
    await proxy.close();
    await demo.close();
    missing.server.close();
    broken.server.close();
  });
  const res = await fetch(`${proxy.url}/readyz`);
  t.equal(res.status, 200, 'never fails because of a backend');
  const { backends: b } = (await res.json()) as {
    backends: Record<string, { ok: boolean; kind: string; detail: string }>;
  };
  t.match(b.demo, { ok: true, kind: 'http', detail: /^reachable \(HTTP 4\d\d/ }, `demo: ${b.demo?.detail}`);
  t.notMatch(b.demo?.detail, /^HTTP \d+$/, 'not a bare status code');
  t.match(b.wrongpath, { ok: false, kind: 'http', detail: /no MCP endpoint/ });
  t.match(b.broken, { ok: false, kind: 'http', detail: 'server error (HTTP 500)' });
  t.match(b.down, { ok: false, kind: 'http', detail: /^unreachable: connection refused/ });
  t.match(b.local, { ok: true, kind: 'stdio', detail: 'node found; 0 processes running' });
  t.match(b.nocmd, { ok: false, kind: 'stdio', detail: 'command not found: /nonexistent/server' });
  t.match(b.fine, { ok: true, kind: 'virtual', detail: 'virtual server over demo, local; all 2 ready' });
  t.match(b.partial, { ok: false, kind: 'virtual', detail: /not ready: down \(unreachable: connection refused/ });
  t.notOk('members' in (b.fine ?? {}), 'the member list stays internal');
});
