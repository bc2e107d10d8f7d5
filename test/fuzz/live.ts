/** A running proxy for the live fuzz properties: the raw echo backend, a stdio echo backend, an API key. */
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client } from 'undici';
import { createEchoServer } from '../../bench/servers/echo-http.mjs';
import { startProxy } from '../helpers/proxy.js';
import { liveConfig, quietStream } from './properties.js';

export async function startFuzzTarget() {
  const echo = createEchoServer();
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const stdio = fileURLToPath(new URL('../../bench/servers/echo-stdio.mjs', import.meta.url));
  const proxy = await startProxy(
    {
      ...liveConfig(`http://127.0.0.1:${(echo.address() as AddressInfo).port}/mcp`, stdio),
      server: { logLevel: 'warn' },
    },
    { auditStream: quietStream() },
  );
  const client = new Client(proxy.url, { pipelining: 1 });
  return {
    url: proxy.url,
    client,
    async close() {
      await client.close();
      await proxy.close();
      echo.closeAllConnections();
      echo.close();
    },
  };
}
