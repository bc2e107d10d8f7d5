// A virtual server merges its members' tools and prompts under prefixed names and routes each call
// to the member its prefix names, which sees the name it knows; an unknown prefix reaches nobody.
import t from 'tap';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { alice, startVirtualStack, tool } from '../helpers/virtual-stack.js';

const stack = await startVirtualStack();
t.teardown(() => stack.close());

t.test('tools and prompts of both members, prefixed', async (t) => {
  const { client } = await stack.connect(alice);
  const tools = (await client.listTools()).tools.map((x) => x.name);
  for (const name of ['web_echo', 'web_whoami', 'web_delete_everything', 'mux_log', 'mux_seen', 'mux_list_changed'])
    t.ok(tools.includes(name), `${name} listed`);
  t.ok(
    tools.every((n) => n.startsWith('web_') || n.startsWith('mux_')),
    'every name is prefixed',
  );
  const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
  t.same(prompts, ['web_greet']);
  const prompt = await client.getPrompt({ name: 'web_greet', arguments: { name: 'Ann' } });
  t.match((prompt.messages[0]!.content as { text: string }).text, /greet Ann/);
  t.ok(client.getServerCapabilities()?.tools && client.getServerCapabilities()?.logging, 'capabilities merged');
  t.equal(client.getServerVersion()?.name, 'both');
});

t.test('calls are routed by prefix; the member sees its own name and the identity', async (t) => {
  const { client } = await stack.connect(alice);
  t.equal(await tool(client, 'web_echo', { text: 'hi' }), 'hi');
  const who = await tool(client, 'web_whoami');
  t.equal(who.user, 'alice', 'the HTTP member is told who calls');
  t.notOk(who.leakedAuthorization || who.leakedCookie, 'no client credential reaches it');
  t.notOk(
    stack.demo!.seen.some((r) => r.headers['x-mcp-proxy-virtual'] !== undefined),
    'nor the handoff handle',
  );
  const seen = (await tool(client, 'mux_seen', { method: 'tools/call' })).messages;
  t.equal(seen.at(-1).params.name, 'seen', 'the stdio member got the unprefixed name');
  t.same(seen.at(-1).params._meta['io.mcp-oidc-proxy/user'].sub, 'alice', 'and the identity in _meta');
});

t.test('an unknown prefix or an unprefixed name is -32602 and reaches no backend', async (t) => {
  const { client } = await stack.connect(alice);
  const before = stack.demo!.seen.length;
  const muxCalls = (await tool(client, 'mux_seen', { method: 'tools/call' })).messages.length;
  for (const name of ['nope_echo', 'echo', 'web_', '_echo']) {
    const e = await client.callTool({ name, arguments: { text: 'x' } }).catch((x) => x);
    t.ok(e instanceof McpError && e.code === ErrorCode.InvalidParams, `${name}: -32602`);
  }
  const e = await client.getPrompt({ name: 'greet', arguments: { name: 'x' } }).catch((x) => x);
  t.equal(e.code, ErrorCode.InvalidParams, 'prompts too');
  t.equal(stack.demo!.seen.length, before, 'the HTTP member saw nothing');
  const after = (await tool(client, 'mux_seen', { method: 'tools/call' })).messages.length;
  t.equal(after, muxCalls + 1, 'the stdio member saw only the seen call');
});

t.test('a bad cursor is -32602', async (t) => {
  const { client } = await stack.connect(alice);
  const e = await client.listTools({ cursor: 'not-ours' }).catch((x) => x);
  t.equal(e.code, ErrorCode.InvalidParams);
});

t.test(
  'a request without a session that is not initialize is 400 (stateless 2026-07-28 is not served here)',
  async (t) => {
    const res = await fetch(stack.url, {
      method: 'POST',
      headers: {
        ...alice.headers,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/list',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    t.equal(res.status, 400);
    t.match(await res.text(), /error/);
  },
);
