// The reverse bridge reads an `application/json` answer value by value as it arrives: one document,
// a batch, or newline-delimited values held open (a listen stream), split anywhere between chunks.
import t from 'tap';
import { PassThrough, Readable } from 'node:stream';
import { jsonValues } from '../../src/bridge/reverse/json-values.js';

const all = async (chunks: string[]) => {
  const out: unknown[] = [];
  for await (const v of jsonValues(Readable.from(chunks.map((c) => Buffer.from(c))))) out.push(v);
  return out;
};

t.test('one document, pretty-printed, in pieces', async (t) => {
  const doc = { jsonrpc: '2.0', id: 1, result: { text: 'a } ] " { [ \\ brace', list: [1, { a: [] }] } };
  const text = JSON.stringify(doc, null, 2);
  t.same(await all([text.slice(0, 7), text.slice(7, 40), text.slice(40)]), [doc]);
  t.same(await all([JSON.stringify(doc)]), [doc], 'compact');
});

t.test('a batch is one value', async (t) => {
  const batch = [{ id: 1 }, { id: 2 }];
  t.same(await all([JSON.stringify(batch)]), [batch]);
});

t.test('newline-delimited values, each yielded as it completes', async (t) => {
  const body = new PassThrough();
  const it = jsonValues(body);
  body.write('{"method":"notifications/subscriptions/acknowledged","params":{"s":"x\\"}"}}\n{"meth');
  t.same((await it.next()).value, { method: 'notifications/subscriptions/acknowledged', params: { s: 'x"}' } });
  body.write('od":"notifications/tools/list_changed"}\n');
  t.same((await it.next()).value, { method: 'notifications/tools/list_changed' }, 'before the body ends');
  body.end();
  t.same(await it.next(), { done: true, value: undefined });
});

t.test('a multi-byte character split between chunks', async (t) => {
  const bytes = Buffer.from('{"t":"é😀"}');
  const body = Readable.from([bytes.subarray(0, 7), bytes.subarray(7)]);
  const out: unknown[] = [];
  for await (const v of jsonValues(body)) out.push(v);
  t.same(out, [{ t: 'é😀' }]);
});

t.test('anything else is parsed whole at the end, as JSON.parse does', async (t) => {
  t.same(await all(['', '']), [], 'an empty body has no values');
  t.same(await all(['"a', ' string"']), ['a string'], 'a bare scalar');
  await t.rejects(all(['{"a":1}', ' nonsense']), SyntaxError, 'stray text after a value');
  await t.rejects(all(['{"a":']), SyntaxError, 'a body cut short');
});
