// The proxy as users run it (dist/cli.js, the same as bin/mcp-oidc-proxy.js), plus a memory
// probe the bench asks over IPC: {type:'mem'} → full GC, then process.memoryUsage() and the
// count of active resources (sockets, timers, handles).
// Start with --expose-gc. Usage: node --expose-gc proxy.mjs --config <file>
// BENCH_PROXY_DIST=<dir>: run the build in <dir> instead of dist/ (an earlier build, for A/B rows).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = process.env.BENCH_PROXY_DIST;
const { main } = await import(dist ? pathToFileURL(join(dist, 'cli.js')).href : '../../dist/cli.js');

process.on('message', (m) => {
  if (m?.type !== 'mem') return;
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  process.send?.({
    type: 'mem',
    id: m.id,
    usage: process.memoryUsage(),
    resources: process.getActiveResourcesInfo().length,
  });
});
process.exitCode = await main(process.argv.slice(2));
process.disconnect?.();
