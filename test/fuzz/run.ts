/**
 * `npm run fuzz`: every fuzz property at volume (110,000 inputs by default, FUZZ_SCALE=2 for
 * twice as many), each bounded in time, with a random seed printed so a failure can be
 * replayed: FUZZ_SEED=<seed> npm run fuzz. Exits 1 on the first failing property.
 */
import fc from 'fast-check';
import {
  bytesProperty,
  configProperty,
  inspectorProperty,
  liveMcpRequest,
  liveProperty,
  rewriteProperty,
} from './properties.js';
import { startFuzzTarget } from './live.js';

const scale = Number(process.env.FUZZ_SCALE ?? 1);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const LIMIT_MS = 4 * 60_000;
const target = await startFuzzTarget();
const seen = new Map<number, number>();
const plan: Array<[string, fc.IRawProperty<unknown[]>, number]> = [
  ['JSON-RPC inspector and policy gate', inspectorProperty as fc.IRawProperty<unknown[]>, 40_000],
  ['arbitrary bytes as an MCP body', bytesProperty as fc.IRawProperty<unknown[]>, 15_000],
  ['list-filtering rewriters', rewriteProperty as fc.IRawProperty<unknown[]>, 10_000],
  ['config loader', configProperty as fc.IRawProperty<unknown[]>, 10_000],
  ['live requests', liveProperty(target.url, target.client, seen) as fc.IRawProperty<unknown[]>, 20_000],
  [
    'live MCP envelopes',
    liveProperty(target.url, target.client, seen, liveMcpRequest) as fc.IRawProperty<unknown[]>,
    15_000,
  ],
];
process.stdout.write(`fuzz: seed ${seed}\n`);
let total = 0;
let failed = false;
const t0 = Date.now();
for (const [name, property, runs] of plan) {
  const started = Date.now();
  const details = await fc.check(property, { seed, numRuns: runs * scale, interruptAfterTimeLimit: LIMIT_MS });
  total += details.numRuns;
  process.stdout.write(
    `fuzz: ${name}: ${details.numRuns} inputs in ${((Date.now() - started) / 1000).toFixed(1)} ` +
      `s${details.interrupted ? ' (time limit)' : ''}${details.failed ? ' FAILED' : ''}\n`,
  );
  if (details.failed) {
    process.stdout.write(`${fc.defaultReportMessage(details)}\n`);
    failed = true;
    break;
  }
}
process.stdout.write(
  `fuzz: ${total} inputs in ${((Date.now() - t0) / 1000).toFixed(1)} s; live status codes ` +
    `${JSON.stringify(Object.fromEntries([...seen].sort()))}\n`,
);
await target.close();
process.exit(failed ? 1 : 0);
