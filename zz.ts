import { loadConfig } from './src/app/config.js';
import { probesFor, runProbes } from './src/probe/index.js';
const { config } = loadConfig({ file: '/tmp/p1.yaml', env: {} }); const only = process.argv[2];
const t0 = Date.now();
const probes = probesFor(config!).filter((p) => !only || p.what.startsWith(only));
await Promise.all(probes.map(async (p) => { const s = Date.now(); const [r] = await runProbes([p]); console.log(Date.now() - s, r!.what, r!.detail); }));
console.log('total', Date.now() - t0);
