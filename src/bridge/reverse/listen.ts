/**
 * A session's `subscriptions/listen` stream at the 2026-07-28 backend: what the 2025 client
 * subscribed to (resources/subscribe) and the list changes the server announces, delivered as
 * plain 2025 notifications on the client's GET stream.
 */
import type { Upstream } from './detect.js';
import type { ReverseSession } from './session.js';
import { messagesOf, statelessRequest, untagged, upstreamHeaders } from './wire.js';

/**
 * The filter for this session: while its GET stream is open, every list change the server can
 * announce; and its subscribed URIs. Empty: nothing to listen for.
 */
export function filterFor(session: ReverseSession, server: Record<string, unknown>): Record<string, unknown> {
  const caps = server as Record<string, { listChanged?: boolean; subscribe?: boolean } | undefined>;
  const filter: Record<string, unknown> = {};
  if (session.stream) {
    if (caps.tools?.listChanged) filter.toolsListChanged = true;
    if (caps.prompts?.listChanged) filter.promptsListChanged = true;
    if (caps.resources?.listChanged) filter.resourcesListChanged = true;
  }
  if (session.subscriptions.size) filter.resourceSubscriptions = [...session.subscriptions];
  return filter;
}

let listens = 0;
/** A listen stream not acknowledged this long is given up (its first message is the acknowledgement). */
export const ACK_TIMEOUT_MS = 10_000;

/**
 * Opens a listen stream; resolves with its stop function once the server acknowledged it.
 * Rejects when the server refuses it, the stream ends first, or no acknowledgement comes within `ackTimeoutMs`.
 */
export async function listen(
  upstream: Upstream,
  identity: Record<string, string>,
  session: ReverseSession,
  filter: Record<string, unknown>,
  /** The server ended an acknowledged stream (not called when `stop` ended it). */
  onLost: (stop: () => void) => void = () => undefined,
  ackTimeoutMs = ACK_TIMEOUT_MS,
): Promise<() => void> {
  const abort = new AbortController();
  const id = `listen-${++listens}`;
  const { body } = statelessRequest(
    { jsonrpc: '2.0', id, method: 'subscriptions/listen', params: { notifications: filter } },
    session.client,
  );
  const res = await upstream.post(
    upstreamHeaders(identity, 'subscriptions/listen'),
    JSON.stringify(body),
    abort.signal,
  );
  const stop = () => abort.abort();
  const messages = messagesOf(res.body, res.type);
  // Until it is acknowledged, a stream that stays silent holds up the client's subscribe: given up.
  const unacknowledged = setTimeout(stop, ackTimeoutMs);
  return new Promise((resolve, reject) => {
    let acknowledged = false;
    (async () => {
      for await (const m of messages) {
        if (m.method === 'notifications/subscriptions/acknowledged') {
          acknowledged = true;
          clearTimeout(unacknowledged);
          resolve(stop);
        } else if (typeof m.method === 'string' && m.id === undefined) {
          if (acknowledged) session.notify(untagged(m));
        } else if (m.id === id) break; // the server ended the subscription (or refused it)
      }
    })()
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(unacknowledged);
        if (!acknowledged) reject(new Error('the backend refused subscriptions/listen'));
        else if (!abort.signal.aborted) onLost(stop);
      });
  });
}
