// One stdio child for several MCP sessions (isolation shared, and user with two sessions of
// one user): what the child sends reaches only the session it belongs to, and what one session
// asks for (capabilities, subscriptions, log level, identity) does not change it for another.
import t, { type Test } from 'tap';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { loginThroughProxy, mcpSession, openEvents, readRpc } from '../helpers/session-client.js';
import { connect, multiplexBackend, startStdioStack } from '../helpers/stdio-stack.js';

const META_KEY = 'io.mcp-oidc-proxy/user';
const stack = await startStdioStack([
  ...['cancel', 'delete', 'updates', 'caps', 'server-cancel', 'levels', 'meta', 'unsubscribe'].map((n) =>
    multiplexBackend(n, 'shared'),
  ),
  multiplexBackend('timeout', 'shared', { requestTimeout: '4s' }),
  multiplexBackend('per-user', 'user'),
]);
t.teardown(() => stack.close());
const { proxy } = stack;
const url = (backend: string) => `${proxy.url}/mcp/${backend}`;
const alice = (await loginThroughProxy(proxy.url, 'alice')).cookie;
const bob = (await loginThroughProxy(proxy.url, 'bob')).cookie;

async function tool(client: Client, name: string, args: Record<string, unknown> = {}): Promise<any> {
  const r = await client.callTool({ name, arguments: args });
  return r.structuredContent ?? (r.content as Array<{ text: string }>)[0]!.text;
}

/** The logs that reach a client. */
function logsOf(client: Client): string[] {
  const logs: string[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(String(n.params.data)));
  return logs;
}

/** Answers sampling requests (with a forged identity key in `_meta`); returns the count of those answered. */
function answerSampling(client: Client): { count: number } {
  const asked = { count: 0 };
  client.setRequestHandler(CreateMessageRequestSchema, async () => {
    asked.count++;
    return {
      role: 'assistant',
      model: 'm',
      content: { type: 'text', text: 'answered' },
      _meta: { [META_KEY]: { sub: 'mallory' } },
    };
  });
  return asked;
}

/**
 * The other session starts work on the child (`hold`), and it ends (`end`); then the watched
 * session has a request in flight when the child, still working, logs and asks for sampling.
 */
async function abandonedWork(
  t: Test,
  backend: string,
  otherCookie: string,
  end: (other: Awaited<ReturnType<typeof connect>>, abort: AbortController) => Promise<unknown>,
) {
  const watched = await connect(url(backend), alice, { sampling: {} });
  const [logs, asked] = [logsOf(watched.client), answerSampling(watched.client)];
  const other = await connect(url(backend), otherCookie, { sampling: {} });
  answerSampling(other.client);
  let started!: () => void;
  const abort = new AbortController();
  const call = other.client.callTool({ name: 'hold', arguments: { key: backend } }, undefined, {
    signal: abort.signal,
    onprogress: () => started(),
  });
  await new Promise<void>((r) => (started = r));
  await end(other, abort);
  await t.rejects(call, 'the other session gets no answer for its work');
  const released = await tool(watched.client, 'release', { key: backend });
  t.equal(released.cancelled, true, 'the child was told to cancel the work');
  t.match(released.outcome, /^refused: .*/, "the child's sampling request for it was refused, not answered");
  t.equal(asked.count, 0, 'the watched session was not asked');
  t.notOk(logs.includes(`late:${backend}`), "the watched session did not get the work's log");
  for (const c of [watched, other]) await c.client.close();
}

t.test("messages for bob's cancelled call go to nobody, not to alice's request in flight", (t) =>
  abandonedWork(t, 'cancel', bob, async (_bob, abort) => abort.abort('changed my mind')),
);

t.test("messages for bob's timed-out call go to nobody", (t) =>
  abandonedWork(t, 'timeout', bob, async () => undefined),
);

t.test("messages for the call of bob's ended session go to nobody", (t) =>
  abandonedWork(t, 'delete', bob, (b) => b.transport.terminateSession()),
);

t.test("isolation user: one session's cancelled call does not reach the user's other session", (t) =>
  abandonedWork(t, 'per-user', alice, async (_alice, abort) => abort.abort('changed my mind')),
);

t.test(
  'notifications/resources/updated goes to the sessions subscribed to the URI, not to whoever has a request in flight',
  async (t) => {
    const b = await mcpSession(url('updates'), { cookie: bob });
    const bobEvents = await openEvents(url('updates'), b.headers);
    t.same((await readRpc(await b.call('resources/subscribe', { uri: 'test://bob' }))).result, {});
    const a = await connect(url('updates'), alice);
    const aliceUpdates: string[] = [];
    a.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void aliceUpdates.push(n.params.uri));
    await tool(a.client, 'updated', { uri: 'test://bob' });
    t.same(aliceUpdates, [], 'alice, with a request in flight, did not get it');
    const update = await bobEvents.next((m) => m.method === 'notifications/resources/updated');
    t.equal(update.params.uri, 'test://bob', 'bob got it on his GET stream');
    bobEvents.close();
    await a.client.close();
  },
);

t.test(
  'a server→client request goes only to a session whose client declared the capability; the child gets -32601 ' +
    'otherwise',
  async (t) => {
    const a = await connect(url('caps'), alice, { elicitation: {} });
    a.client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Alice' } }));
    const b = await connect(url('caps'), bob);
    const bobAsked: string[] = [];
    b.client.fallbackRequestHandler = async (req) => {
      bobAsked.push(req.method);
      throw new Error('bob declared no such capability');
    };
    t.match(
      await tool(a.client, 'ask', { method: 'elicitation/create' }),
      /^answered: .*Alice/,
      'alice, who declared elicitation, is asked',
    );
    for (const method of ['elicitation/create', 'sampling/createMessage', 'roots/list']) {
      t.match(
        await tool(b.client, 'ask', { method }),
        /^refused: .*-32601/,
        `${method}: refused to the child with -32601`,
      );
    }
    t.same(bobAsked, [], 'bob was sent none of them');
    for (const c of [a, b]) await c.client.close();
  },
);

t.test(
  "the child's cancellation of its own request reaches the session that has it, under that session's id",
  async (t) => {
    const a = await connect(url('server-cancel'), alice, { sampling: {} });
    const b = await connect(url('server-cancel'), bob);
    const cancelled = new Promise<string>((resolve) => {
      a.client.setRequestHandler(
        CreateMessageRequestSchema,
        (_req, extra) =>
          new Promise((_r, reject) => {
            extra.signal.addEventListener('abort', () => {
              resolve('cancelled');
              reject(new Error('cancelled'));
            });
          }),
      );
    });
    t.match(
      await tool(a.client, 'ask', { method: 'sampling/createMessage', timeoutMs: 200 }),
      /^refused: .*timed out/,
      'the child gave up on its request',
    );
    t.equal(
      await Promise.race([cancelled, Promise.resolve('not cancelled')]),
      'cancelled',
      "alice's handler was told (before the tool's answer, on the same stream)",
    );
    for (const c of [a, b]) await c.client.close();
  },
);

t.test(
  "logging/setLevel is per session: alice's level filters alice's logs and does not quiet the child for bob",
  async (t) => {
    const a = await connect(url('levels'), alice);
    const b = await connect(url('levels'), bob);
    const [aliceLogs, bobLogs] = [logsOf(a.client), logsOf(b.client)];
    await a.client.setLoggingLevel('error');
    t.equal(
      (await tool(a.client, 'seen', { method: 'logging/setLevel' })).level,
      'debug',
      'the child logs what the most verbose session wants',
    );
    await tool(a.client, 'log', { text: 'alice-info', level: 'info' });
    await tool(a.client, 'log', { text: 'alice-error', level: 'error' });
    t.same(aliceLogs, ['alice-error'], 'alice gets her level and above');
    await tool(b.client, 'log', { text: 'bob-info', level: 'info' });
    t.same(bobLogs, ['bob-info'], 'bob, who set no level, still gets info');
    for (const c of [a, b]) await c.client.close();
  },
);

t.test(
  'resources/unsubscribe reaches the child only when no session is subscribed any more (unsubscribe, or session end)',
  async (t) => {
    const b = await mcpSession(url('unsubscribe'), { cookie: bob });
    const bobEvents = await openEvents(url('unsubscribe'), b.headers);
    await b.call('resources/subscribe', { uri: 'test://both' });
    const a = await connect(url('unsubscribe'), alice);
    await a.client.subscribeResource({ uri: 'test://both' });
    await a.client.unsubscribeResource({ uri: 'test://both' });
    const unsubscribes = async () =>
      (await tool(a.client, 'seen', { method: 'resources/unsubscribe' })).messages.map((m: any) => m.params.uri);
    t.same(await unsubscribes(), [], "alice's unsubscribe is answered by the proxy: bob is still subscribed");
    await tool(a.client, 'updated', { uri: 'test://both' });
    t.equal(
      (await bobEvents.next((m) => m.method === 'notifications/resources/updated')).params.uri,
      'test://both',
      'bob still gets updates',
    );
    bobEvents.close();
    t.equal((await fetch(url('unsubscribe'), { method: 'DELETE', headers: b.headers })).status, 200);
    t.same(await unsubscribes(), ['test://both'], "bob's session ended: the child is unsubscribed");
    await a.client.close();
  },
);

t.test(
  "no client→child message keeps the client's copy of the identity key: cancellations (in a batch) " +
    'and answers to server→client requests',
  async (t) => {
    const a = await connect(url('meta'), alice, { sampling: {} });
    answerSampling(a.client);
    t.match(await tool(a.client, 'ask', { method: 'sampling/createMessage' }), /^answered/);
    const answers = (await tool(a.client, 'seen', { method: 'response' })).messages.filter(
      (m: any) => m.result?.model === 'm',
    );
    t.equal(answers.length, 1, "alice's answer reached the child");
    t.notOk(answers[0].result._meta?.[META_KEY], 'without the identity key the client put in it');
    const b = await mcpSession(url('meta'), { cookie: bob });
    const held = await b.call('tools/call', {
      name: 'hold',
      arguments: { key: 'meta' },
      _meta: { progressToken: 'p' },
    });
    t.equal(held.status, 200, 'the work started (its progress opened the stream)');
    const cancel = {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 10, reason: 'x', _meta: { [META_KEY]: { sub: 'alice', groups: ['admin'] } } },
    };
    t.equal(
      (await fetch(url('meta'), { method: 'POST', headers: b.headers, body: JSON.stringify([cancel]) })).status,
      202,
    );
    const [cancelled] = (await tool(a.client, 'seen', { method: 'notifications/cancelled' })).messages;
    t.ok(cancelled, 'the cancellation reached the child');
    t.not(cancelled.params.requestId, 10, "under the child's id for the request");
    t.notOk(cancelled.params._meta?.[META_KEY], "without bob's forged identity key");
    await held.body?.cancel();
    await a.client.close();
  },
);
