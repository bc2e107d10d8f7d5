// The REST API and the explorer on a virtual server: prefixed names, routed calls, and 404 for a
// tool, prompt or resource that no member offers (like on a backend).
import t from 'tap';
import { alice, bob, startVirtualStack } from '../helpers/virtual-stack.js';

const stack = await startVirtualStack();
t.teardown(() => stack.close());
const api = (path: string, who: { headers: Record<string, string> }, body?: unknown) =>
  fetch(`${stack.proxy.url}/api/backends${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { ...who.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

t.test('listed with the backends', async (t) => {
  const res = await api('', alice);
  const both = ((await res.json()) as { backends: any[] }).backends.find((b) => b.name === 'both');
  t.same([both?.kind, both?.url], ['virtual', `${stack.proxy.url}/mcp/both`]);
});

t.test('tools, prompts and resources', async (t) => {
  const tools = ((await (await api('/both/tools', alice)).json()) as { tools: any[] }).tools.map((x) => x.name);
  t.ok(tools.includes('web_echo') && tools.includes('mux_log'));
  const bobs = ((await (await api('/both/tools', bob)).json()) as { tools: any[] }).tools.map((x) => x.name);
  t.notOk(bobs.includes('web_delete_everything'), "bob's list follows the member's rules");
  const call = await api('/both/tools/call', alice, { name: 'web_echo', arguments: { text: 'rest' } });
  t.equal(call.status, 200);
  t.equal(((await call.json()) as any).content[0].text, 'rest');
  const prompt = await api('/both/prompts/get', alice, { name: 'web_greet', arguments: { name: 'Bo' } });
  t.equal(prompt.status, 200);
  await prompt.text();
  const read = await api('/both/resources/read', alice, { uri: 'test://note' });
  t.equal(((await read.json()) as any).contents[0].text, 'note');
});

t.test('404 for what no member offers', async (t) => {
  for (const [path, body] of [
    ['/both/tools/call', { name: 'nope_echo', arguments: {} }],
    ['/both/tools/call', { name: 'echo', arguments: {} }],
    ['/both/prompts/get', { name: 'nope_greet' }],
    ['/both/resources/read', { uri: 'nowhere://x' }],
  ] as const) {
    const res = await api(path, alice, body);
    t.equal(res.status, 404, `${path} ${JSON.stringify(body)}`);
    t.ok(((await res.json()) as any).error?.code, 'a REST error body');
  }
});

t.test('the explorer page', async (t) => {
  const res = await fetch(`${stack.proxy.url}/explore/both`, { headers: alice.headers });
  t.equal(res.status, 200);
  t.match(await res.text(), /data-backend="both"/);
});
