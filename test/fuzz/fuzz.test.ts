/**
 * The seed-fixed slice of the fuzz harness that runs in `npm test` (a few thousand inputs);
 * `npm run fuzz` runs the same properties with 100,000+ inputs.
 */
import t from 'tap';
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

const seed = 20261123;

for (const [name, property, numRuns] of [
  ['JSON-RPC inspector and policy gate', inspectorProperty, 1000],
  ['arbitrary bytes as an MCP body', bytesProperty, 500],
  ['list-filtering rewriters', rewriteProperty, 500],
  ['config loader', configProperty, 500],
] as const) {
  t.test(name, async (t) => {
    const details = fc.check(property as fc.IProperty<unknown[]>, { seed, numRuns });
    t.notOk(
      details.failed,
      (details.failed ? fc.defaultReportMessage(details) : undefined) ?? `${numRuns} inputs, no failure`,
    );
  });
}

t.test('live requests against a running proxy: no 5xx, no hang', async (t) => {
  const target = await startFuzzTarget();
  t.teardown(() => target.close());
  const seen = new Map<number, number>();
  const details = await fc.check(liveProperty(target.url, target.client, seen), { seed, numRuns: 1000 });
  t.notOk(details.failed, (details.failed ? fc.defaultReportMessage(details) : undefined) ?? '1000 requests, no 5xx');
  t.comment(`status codes: ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
  t.ok(seen.size >= 4, 'the inputs reached several outcomes (not one refusal for all)');
});

t.test('well-formed MCP envelopes with arbitrary JSON-RPC inside: no 5xx', async (t) => {
  const target = await startFuzzTarget();
  t.teardown(() => target.close());
  const seen = new Map<number, number>();
  const details = await fc.check(liveProperty(target.url, target.client, seen, liveMcpRequest), { seed, numRuns: 500 });
  t.notOk(details.failed, (details.failed ? fc.defaultReportMessage(details) : undefined) ?? '500 requests, no 5xx');
  t.comment(`status codes: ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
  t.ok((seen.get(200) ?? 0) > 50, 'many reached a backend and came back');
});
