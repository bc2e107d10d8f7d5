/** Raw MCP 2026-07-28 requests for the bridge tests (headers the revision requires) and their SSE events. */
import { MCP_ACCEPT } from './session-client.js';

export const STATELESS = '2026-07-28';

/** POSTs one stateless request to `<base()>/mcp/<backend>` with `auth` headers; ids count up from 1. */
export function statelessClient(base: () => string) {
  let nextId = 1;
  const post = (
    backend: string,
    auth: Record<string, string>,
    method: string,
    params: Record<string, unknown>,
    headers = {},
  ) => {
    const name = (params.name ?? params.uri) as string | undefined;
    return fetch(`${base()}/mcp/${backend}`, {
      method: 'POST',
      headers: {
        ...auth,
        'content-type': 'application/json',
        accept: MCP_ACCEPT,
        'mcp-protocol-version': STATELESS,
        'mcp-method': method,
        ...(name ? { 'mcp-name': name } : {}),
        ...headers,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
    });
  };
  const call = async (
    backend: string,
    auth: Record<string, string>,
    method: string,
    params: Record<string, unknown>,
  ) => {
    const res = await post(backend, auth, method, params);
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as any };
  };
  return { post, call, lastId: () => nextId - 1 };
}

/** The SSE events of a response, until `count` arrived (then the stream is left). */
export async function sseEvents(res: Response, count: number, each?: (n: number) => Promise<void>): Promise<any[]> {
  const out: any[] = [];
  const reader = res.body!.getReader();
  let buf = '';
  while (out.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += new TextDecoder().decode(value);
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const data = buf
        .slice(0, i)
        .split('\n')
        .find((l) => l.startsWith('data: '));
      buf = buf.slice(i + 2);
      if (data) {
        out.push(JSON.parse(data.slice(6)));
        await each?.(out.length);
      }
    }
  }
  await reader.cancel();
  return out;
}

/** The one input request of an input-required result (its key, method, params) and the state to resume with. */
export function inputRequest(result: any): { key: string; method: string; params: any; state: string } | undefined {
  if (result?.resultType !== 'input_required') return undefined;
  const [key] = Object.keys(result.inputRequests ?? {});
  if (key === undefined) return undefined;
  const { method, params } = result.inputRequests[key];
  return { key, method, params, state: result.requestState };
}
