// Resources keep their URIs on a virtual server: reads and subscriptions go to the member that
// listed the URI, else to the first member (in `backends` order) whose template matches it.
import t from 'tap';
import { alice, startVirtualStack, tool } from '../helpers/virtual-stack.js';
import { multiplexBackend } from '../helpers/stdio-stack.js';

// `mux2` runs the same server as `mux`: both list test://note and the test://item/{id} template.
const stack = await startVirtualStack({
  extra: { backends: [multiplexBackend('mux2', 'session')], members: [{ name: 'mux2', prefix: 'mux2' }] },
});
t.teardown(() => stack.close());

const reads = async (client: any, prefix: string) =>
  (await tool(client, `${prefix}_seen`, { method: 'resources/read' })).messages.map((m: any) => m.params.uri);

t.test('merged lists, URIs unchanged', async (t) => {
  const { client } = await stack.connect(alice);
  const uris = (await client.listResources()).resources.map((r) => r.uri);
  t.ok(uris.includes('demo://readme'), 'the HTTP member lists its resource');
  t.equal(uris.filter((u) => u === 'test://note').length, 2, 'both stdio members list test://note, unchanged');
  const templates = (await client.listResourceTemplates()).resourceTemplates.map((x) => x.uriTemplate);
  t.same(templates, ['test://item/{id}', 'test://item/{id}']);
});

t.test('a read goes to the member that listed it, the first on a tie', async (t) => {
  const { client } = await stack.connect(alice);
  await client.listResources();
  const web = await client.readResource({ uri: 'demo://readme' });
  t.equal(web.contents[0]!.uri, 'demo://readme', 'the HTTP member answered its own resource');
  const note = await client.readResource({ uri: 'test://note' });
  t.equal((note.contents[0] as { text: string }).text, 'note');
  t.same(await reads(client, 'mux'), ['test://note'], 'mux (first in order) read it');
  t.same(await reads(client, 'mux2'), [], 'mux2 did not');
});

t.test('a URI nobody listed goes to the first member whose template matches', async (t) => {
  const { client } = await stack.connect(alice);
  const item = await client.readResource({ uri: 'test://item/7' });
  t.equal((item.contents[0] as { text: string }).text, 'item 7');
  t.same(await reads(client, 'mux'), ['test://item/7']);
  t.same(await reads(client, 'mux2'), []);
});

t.test('a URI no member serves is refused', async (t) => {
  const { client } = await stack.connect(alice);
  const e = await client.readResource({ uri: 'nowhere://x' }).catch((x) => x);
  t.equal(e.code, -32002);
});
