// The reverse bridge's `subscriptions/listen` upstream: acknowledged over SSE or newline-delimited JSON, its
// notifications passed on untagged; a stream never acknowledged is given up (and its request aborted)
// instead of holding the session's subscription changes.
import t from 'tap';
import { PassThrough } from 'node:stream';
import type { Upstream } from '../../src/bridge/reverse/detect.js';
import { listen } from '../../src/bridge/reverse/listen.js';
import { ReverseSession } from '../../src/bridge/reverse/session.js';
import type { RpcMessage } from '../../src/mcp/jsonrpc.js';

const SUB = 'io.modelcontextprotocol/subscriptionId';

/** An upstream whose one answer is `body` (of `type`), ended when the request is aborted; records the abort. */
function upstream(type: string) {
  const body = new PassThrough();
  const seen: { aborted: boolean; request?: Record<string, any> } = { aborted: false };
  let posted!: () => void;
  const requested = new Promise<void>((r) => (posted = r));
  const up: Upstream = {
    post: async (_headers, text, signal) => {
      seen.request = JSON.parse(text);
      posted();
      signal?.addEventListener('abort', () => {
        seen.aborted = true;
        body.destroy(new Error('aborted'));
      });
      return { status: 200, type, body };
    },
  };
  return { up, body, seen, requested };
}

/** A session whose GET stream records what reaches the client. */
function session() {
  const s = new ReverseSession('s-1', 'alice', {}, undefined);
  const got: RpcMessage[] = [];
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => {
    for (const line of c.toString().split('\n')) if (line.startsWith('data: ')) got.push(JSON.parse(line.slice(6)));
  });
  s.stream = stream;
  return { s, got };
}

t.test('newline-delimited JSON: acknowledged, notifications reach the client as they come', async (t) => {
  const { up, body, seen, requested } = upstream('application/json');
  const { s, got } = session();
  const opened = listen(up, {}, s, { toolsListChanged: true });
  const id = () => seen.request!.id;
  await requested;
  body.write(
    `${JSON.stringify({
      jsonrpc: '2.0',
      method: 'notifications/subscriptions/acknowledged',
      params: { _meta: { [SUB]: id() }, notifications: { toolsListChanged: true } },
    })}\n`,
  );
  const stop = await opened;
  const arrived = new Promise<void>((r) => s.stream!.once('data', () => setImmediate(r)));
  body.write(
    `${JSON.stringify({
      jsonrpc: '2.0',
      method: 'notifications/tools/list_changed',
      params: { _meta: { [SUB]: id() } },
    })}\n`,
  );
  await arrived;
  t.same(
    got,
    [{ jsonrpc: '2.0', method: 'notifications/tools/list_changed', params: {} }],
    'untagged, before the body ends',
  );
  stop();
  t.ok(seen.aborted, 'stop aborts the upstream request');
});

t.test('a stream never acknowledged is given up after the timeout, its request aborted', async (t) => {
  const { up, seen } = upstream('text/event-stream');
  const { s } = session();
  await t.rejects(listen(up, {}, s, { resourceSubscriptions: ['test://a'] }, undefined, 50), /refused/);
  t.ok(seen.aborted, 'the upstream request was aborted');
});
