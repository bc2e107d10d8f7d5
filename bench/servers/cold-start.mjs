// The stdio server's own cold start, measured from a small process (as the proxy spawns it):
// spawn → initialize answered, median of N (argv[3], default 7) runs, in ms, printed as JSON.
// Usage: node cold-start.mjs <server.mjs> [n]
import { spawn } from 'node:child_process';

const [server, n = '7'] = process.argv.slice(2);
const params = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } };
const init = `${JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params })}\n`;
const times = [];
for (let i = 0; i < Number(n); i++) {
  const t0 = performance.now();
  // The environment the proxy gives a stdio server (PATH, HOME, …): an inherited
  // NODE_EXTRA_CA_CERTS alone adds ~30 ms to a Node start on this machine.
  const child = spawn(process.execPath, [server], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  child.stdin.write(init);
  await new Promise((r) => child.stdout.once('data', r));
  times.push(performance.now() - t0);
  child.kill();
  await new Promise((r) => child.once('exit', r));
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ medianMs: times[Math.floor(times.length / 2)] }));
