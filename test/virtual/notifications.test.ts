// What members send reaches the virtual server's client: progress, logs, resource updates and
// list changes; a member's sampling or elicitation request reaches the client and its answer goes
// back to that member.
import t from 'tap';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { alice, startVirtualStack, tool } from '../helpers/virtual-stack.js';

const stack = await startVirtualStack();
t.teardown(() => stack.close());

const CAPS = { sampling: {}, elicitation: { form: {} } };

t.test('progress from the HTTP member', async (t) => {
  const { client } = await stack.connect(alice);
  const seen: number[] = [];
  await client.callTool({ name: 'web_slow_count', arguments: { n: 3, delayMs: 0 } }, undefined, {
    onprogress: (p) => void seen.push(p.progress),
  });
  t.same(seen, [1, 2, 3]);
});

t.test('logs, resource updates and list changes from the stdio member', async (t) => {
  const { client } = await stack.connect(alice);
  const logs: unknown[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data));
  t.equal(await tool(client, 'mux_log', { text: 'hello', level: 'info' }), 'logged');
  t.same(logs, ['hello'], 'the log arrived with its call');

  const updated = new Promise<string>((resolve) =>
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => resolve(n.params.uri)),
  );
  await client.subscribeResource({ uri: 'test://note' });
  const subs = (await tool(client, 'mux_seen', { method: 'resources/subscribe' })).messages;
  t.equal(subs.at(-1).params.uri, 'test://note', 'the subscription went to the member that listed the URI');
  await tool(client, 'mux_updated', { uri: 'test://note' });
  t.equal(await updated, 'test://note');

  const changed = new Promise<void>((resolve) =>
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()),
  );
  await tool(client, 'mux_list_changed');
  await changed;
  t.pass('tools/list_changed reached the client');
});

t.test('sampling asked by the HTTP member is answered by the client', async (t) => {
  const { client } = await stack.connect(alice, CAPS);
  client.setRequestHandler(CreateMessageRequestSchema, async (r) => ({
    role: 'assistant',
    model: 'test',
    content: { type: 'text', text: `re: ${(r.params.messages[0]!.content as { text: string }).text}` },
  }));
  t.equal(await tool(client, 'web_ask_client', { question: 'why?' }), 'client answered: re: why?');
});

t.test('elicitation asked by the stdio member is answered by the client', async (t) => {
  const { client } = await stack.connect(alice, CAPS);
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ann' } }));
  const out = await tool(client, 'mux_ask', { method: 'elicitation/create' });
  t.match(out, /answered: .*"name":"Ann"/);
});

t.test('a client without sampling: the member gets a refusal, not silence', async (t) => {
  const { client } = await stack.connect(alice);
  const out = await tool(client, 'mux_ask', { method: 'sampling/createMessage', timeoutMs: 5000 });
  t.match(out, /refused/);
});

t.test('cancelling a call cancels it at the member', async (t) => {
  const { client } = await stack.connect(alice);
  const abort = new AbortController();
  const started = new Promise<void>((resolve) => {
    const call = client.callTool({ name: 'mux_hold', arguments: { key: 'k1' } }, undefined, {
      signal: abort.signal,
      onprogress: () => resolve(),
    });
    call.catch(() => undefined);
  });
  await started;
  abort.abort('changed my mind');
  let cancelled: any[] = [];
  for (let i = 0; i < 50 && cancelled.length === 0; i++)
    cancelled = (await tool(client, 'mux_seen', { method: 'notifications/cancelled' })).messages;
  t.equal(cancelled.length, 1, 'the member was told');
  const released = await tool(client, 'mux_release', { key: 'k1' });
  t.equal(released.cancelled, true, 'and its handler saw the abort');
});

t.test('logging/setLevel reaches every member that logs', async (t) => {
  const { client } = await stack.connect(alice);
  await client.setLoggingLevel('error');
  t.equal((await tool(client, 'mux_seen', { method: 'logging/setLevel' })).level, 'error');
  const logs: unknown[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params.data));
  await tool(client, 'mux_log', { text: 'quiet', level: 'info' });
  await tool(client, 'mux_log', { text: 'loud', level: 'error' });
  t.same(logs, ['loud'], 'the member applies it');
});
