/**
 * What the proxy is compared with, started on loopback: one HTTP echo backend serving every
 * answer shape (bench/servers/echo-http.mjs), and in front of it nginx, a bare
 * @fastify/http-proxy and a minimal Node proxy; for stdio, supergateway and mcp-proxy.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/helpers/ports.js';
import { startNginx } from './nginx.js';
import { start, waitHttp } from './procs.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const node = process.execPath;
export const echoStdio = join(here, '../servers/echo-stdio.mjs');

/** Backend answer shapes and the path the echo backend serves each at. */
export const SHAPES = {
  length: '/mcp',
  chunked: '/chunked/mcp',
  sse: '/sse/mcp',
  sdk: '/sdk/mcp',
} as const;
export type Shape = keyof typeof SHAPES;
export const SHAPE_TITLES: Record<Shape, string> = {
  length: 'JSON with Content-Length (raw node:http)',
  chunked: 'JSON chunked (writeHead, then end)',
  sse: 'SSE, one event per answer (raw node:http)',
  sdk: 'MCP SDK server (McpServer + StreamableHTTPServerTransport, stateful, SSE answers)',
};

/** The HTTP baselines, each a base URL whose path is the backend's. */
export const HTTP_PEERS = ['direct', 'nginx', 'fastify-http-proxy', 'node-proxy'] as const;
export type HttpPeer = (typeof HTTP_PEERS)[number];

export interface Peers {
  backendPort: number;
  http: Record<HttpPeer, string>;
  /** Their processes (direct: the backend's own). */
  pids: Record<HttpPeer, number | undefined>;
  stdio: { supergateway: string; 'mcp-proxy': string };
  stdioPids: { supergateway?: number; 'mcp-proxy'?: number };
}

export async function startPeers(dir: string): Promise<Peers> {
  const echo = await start(node, [join(here, '../servers/echo-http.mjs'), '--sdk'], {
    label: 'echo-http',
    waitListening: true,
  });
  const upstream = `http://127.0.0.1:${echo.port}`;
  const nginxPort = await freePort();
  const nginx = await startNginx(dir, nginxPort, echo.port!);
  await waitHttp(`http://127.0.0.1:${nginxPort}/`);
  const fastifyProxy = await start(node, [join(here, '../servers/fastify-proxy.mjs'), upstream], {
    label: '@fastify/http-proxy',
    waitListening: true,
  });
  const nodeProxy = await start(node, [join(here, '../servers/node-proxy.mjs'), upstream], {
    label: 'node-proxy',
    waitListening: true,
  });
  const sgPort = await freePort();
  const sg = await start(
    node,
    [
      join(root, 'node_modules/supergateway/dist/index.js'),
      '--stdio',
      `${node} ${echoStdio}`,
      '--outputTransport',
      'streamableHttp',
      '--stateful',
      '--port',
      String(sgPort),
      '--logLevel',
      'none',
    ],
    { label: 'supergateway' },
  );
  const mpPort = await freePort();
  const mp = await start(
    node,
    [
      join(root, 'node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs'),
      '--port',
      String(mpPort),
      '--host',
      '127.0.0.1',
      '--server',
      'stream',
      '--',
      node,
      echoStdio,
    ],
    { label: 'mcp-proxy' },
  );
  await waitHttp(`http://127.0.0.1:${sgPort}/healthz`).catch(() => waitHttp(`http://127.0.0.1:${sgPort}/mcp`));
  await waitHttp(`http://127.0.0.1:${mpPort}/mcp`);
  return {
    backendPort: echo.port!,
    http: {
      direct: upstream,
      nginx: `http://127.0.0.1:${nginxPort}`,
      'fastify-http-proxy': `http://127.0.0.1:${fastifyProxy.port}`,
      'node-proxy': `http://127.0.0.1:${nodeProxy.port}`,
    },
    pids: {
      direct: echo.proc.pid,
      nginx: nginx.proc.pid,
      'fastify-http-proxy': fastifyProxy.proc.pid,
      'node-proxy': nodeProxy.proc.pid,
    },
    stdio: { supergateway: `http://127.0.0.1:${sgPort}/mcp`, 'mcp-proxy': `http://127.0.0.1:${mpPort}/mcp` },
    stdioPids: { supergateway: sg.proc.pid, 'mcp-proxy': mp.proc.pid },
  };
}

/** The proxy's backend name for a shape (`echo`, the default backend, for Content-Length). */
export const backendName = (shape: Shape) => (shape === 'length' ? 'echo' : shape);

/** The proxy's config: one HTTP backend per shape, a shared and a per-session stdio backend; one tool rule each. */
export function proxyConfig(backendPort: number, sessionKey: string, apiKeySha256: string): Record<string, unknown> {
  const rule = { tools: [{ match: '*', allow: { groups: ['admin'], apiKeys: ['bench'] } }] };
  return {
    session: { keys: [sessionKey] },
    devIdp: {
      enabled: true,
      users: [{ username: 'alice', password: 'alice', email: 'alice@example.com', name: 'Alice', groups: ['admin'] }],
    },
    apiKeys: [{ name: 'bench', sha256: apiKeySha256, subject: 'bench-bot' }],
    backends: [
      ...(Object.keys(SHAPES) as Shape[]).map((s) => ({
        name: backendName(s),
        ...(s === 'length' ? { default: true } : {}),
        http: { url: `http://127.0.0.1:${backendPort}${SHAPES[s]}` },
        ...rule,
      })),
      { name: 'stdio', stdio: { command: node, args: [echoStdio], isolation: 'shared' }, ...rule },
      {
        name: 'stdio-cold',
        stdio: { command: node, args: [echoStdio], isolation: 'session', maxProcesses: 20 },
        ...rule,
      },
    ],
  };
}
