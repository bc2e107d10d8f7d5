/**
 * The MCP methods of a virtual server's session: lists merged from every member that is up (a member
 * down is skipped with a warning), calls routed by prefix, resources by who listed them or whose
 * template matches (DESIGN.md §12, "Virtual servers").
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type RequestId,
  ResultSchema,
  type ServerCapabilities,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { FastifyBaseLogger } from 'fastify';
import { decodeCursor, encodeCursor, type ResourceOwners, route } from './merge.js';
import { memberError, type MemberLink } from './member.js';
import { errorCause } from '../../lib/error-cause.js';

/** The client request a member's own request or notification belongs to (its POST stream carries it). */
export const causedBy = new AsyncLocalStorage<RequestId>();

/** Long enough for a user answering an elicitation; progress resets it. */
export const MEMBER_TIMEOUT_MS = 10 * 60_000;

type Params = Record<string, unknown> & { _meta?: Record<string, unknown> };
type Extra = { requestId: RequestId; signal: AbortSignal; sendNotification: (n: never) => Promise<void> };
type Kind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

const LIST_METHOD: Record<Kind, string> = {
  tools: 'tools/list',
  prompts: 'prompts/list',
  resources: 'resources/list',
  resourceTemplates: 'resources/templates/list',
};

export interface SessionView {
  members: readonly MemberLink[];
  owners: ResourceOwners;
  log: FastifyBaseLogger;
  /** Members that are down: a new connection attempt (first list pages only). */
  reconnect(): Promise<void>;
}

/** A request to one member as the client's request: cancellation, progress and server→client requests follow. */
async function ask(m: MemberLink, method: string, params: Params | undefined, extra: Extra) {
  if (!m.client) throw new McpError(ErrorCode.InternalError, `backend "${m.name}" is unavailable`);
  const { progressToken, ...meta } = params?._meta ?? {};
  const out: Params = { ...params };
  if (params?._meta) out._meta = meta;
  const onprogress =
    progressToken === undefined
      ? undefined
      : (p: Record<string, unknown>) =>
          extra.sendNotification({ method: 'notifications/progress', params: { ...p, progressToken } } as never);
  try {
    return await causedBy.run(extra.requestId, () =>
      m.client!.request({ method, params: out } as never, ResultSchema, {
        signal: extra.signal,
        timeout: MEMBER_TIMEOUT_MS,
        resetTimeoutOnProgress: true,
        onprogress,
      }),
    );
  } catch (e) {
    m.lost(e);
    throw memberError(e);
  }
}

function rename(kind: Kind, m: MemberLink, item: Record<string, unknown>, owners: ResourceOwners) {
  if (kind === 'tools' || kind === 'prompts') return { ...item, name: `${m.prefix}_${String(item.name)}` };
  if (kind === 'resources' && typeof item.uri === 'string') owners.noteUri(item.uri, m);
  if (kind === 'resourceTemplates' && typeof item.uriTemplate === 'string') owners.noteTemplate(item.uriTemplate, m);
  return item;
}

const offers = (m: MemberLink, kind: Kind) =>
  m.up && (m.capabilities as Record<string, unknown>)[kind === 'resourceTemplates' ? 'resources' : kind] !== undefined;

/** One merged page: the first page asks every member; a cursor holds each member's own next cursor. */
async function listPage(view: SessionView, kind: Kind, params: Params | undefined, extra: Extra) {
  const first = params?.cursor === undefined;
  if (first) await view.reconnect();
  const pending = decodeCursor(params?.cursor, view.members.length);
  const items: Array<Record<string, unknown>[]> = [];
  const next: Record<string, string> = {};
  await Promise.all(
    view.members.map(async (m, i) => {
      if (!(first || pending[i] !== undefined)) return;
      if (!offers(m, kind)) return; // a member down was logged when it was tried (reconnect)
      try {
        const res = (await ask(m, LIST_METHOD[kind], pending[i] ? { cursor: pending[i] } : {}, extra)) as Params;
        const list = Array.isArray(res[kind]) ? (res[kind] as Record<string, unknown>[]) : [];
        items[i] = list;
        if (typeof res.nextCursor === 'string') next[i] = res.nextCursor;
      } catch (e) {
        view.log.warn({ event: 'virtual.member_failed', backend: m.name, reason: errorCause(e) }, 'list failed');
      }
    }),
  );
  // In `backends` order: the first member to list a URI serves it.
  const merged = view.members.flatMap((m, i) => (items[i] ?? []).map((item) => rename(kind, m, item, view.owners)));
  return { [kind]: merged, ...(Object.keys(next).length ? { nextCursor: encodeCursor(next) } : {}) };
}

/** The member that serves `uri`: who listed it or whose template matches; the lists are read once if unknown. */
async function resourceOwner(view: SessionView, uri: unknown, extra: Extra): Promise<MemberLink> {
  const up = view.members.filter((m) => offers(m, 'resources'));
  const find = () => (typeof uri === 'string' ? view.owners.owner(uri, up) : undefined);
  let owner = find();
  if (!owner) {
    for (const kind of ['resources', 'resourceTemplates'] as const) {
      let cursor: string | undefined;
      for (let page = 0; page < 20; page++) {
        const res = (await listPage(view, kind, cursor ? { cursor } : undefined, extra)) as { nextCursor?: string };
        cursor = res.nextCursor;
        if (!cursor) break;
      }
    }
    owner = find();
  }
  if (!owner) throw new McpError(-32002, `resource not found: ${String(uri)}`);
  return owner;
}

export function registerHandlers(server: Server, caps: ServerCapabilities, view: SessionView): void {
  const on = (schema: unknown, handler: (r: { params?: Params }, extra: Extra) => Promise<unknown>) =>
    server.setRequestHandler(schema as never, handler as never);
  if (caps.tools) {
    on(ListToolsRequestSchema, (r, x) => listPage(view, 'tools', r.params, x));
    on(CallToolRequestSchema, (r, x) => {
      const [m, name] = route(view.members, r.params?.name, 'tool');
      return ask(m, 'tools/call', { ...r.params, name }, x);
    });
  }
  if (caps.prompts) {
    on(ListPromptsRequestSchema, (r, x) => listPage(view, 'prompts', r.params, x));
    on(GetPromptRequestSchema, (r, x) => {
      const [m, name] = route(view.members, r.params?.name, 'prompt');
      return ask(m, 'prompts/get', { ...r.params, name }, x);
    });
  }
  if (caps.resources) {
    on(ListResourcesRequestSchema, (r, x) => listPage(view, 'resources', r.params, x));
    on(ListResourceTemplatesRequestSchema, (r, x) => listPage(view, 'resourceTemplates', r.params, x));
    for (const [schema, method] of [
      [ReadResourceRequestSchema, 'resources/read'],
      [SubscribeRequestSchema, 'resources/subscribe'],
      [UnsubscribeRequestSchema, 'resources/unsubscribe'],
    ] as const)
      on(schema, async (r, x) => ask(await resourceOwner(view, r.params?.uri, x), method, r.params, x));
  }
  if (caps.completions) on(CompleteRequestSchema, (r, x) => complete(view, r.params ?? {}, x));
  if (caps.logging)
    on(SetLevelRequestSchema, async (r, x) => {
      const logging = view.members.filter((m) => m.up && m.capabilities.logging);
      await Promise.allSettled(logging.map((m) => ask(m, 'logging/setLevel', r.params, x)));
      return {};
    });
}

/** Completion: `ref/prompt` routed by the prompt's prefix, `ref/resource` to the member that listed the template. */
async function complete(view: SessionView, params: Params, extra: Extra) {
  const ref = (params.ref ?? {}) as Record<string, unknown>;
  if (ref.type === 'ref/prompt') {
    const [m, name] = route(view.members, ref.name, 'prompt');
    return ask(m, 'completion/complete', { ...params, ref: { ...ref, name } }, extra);
  }
  const m = view.owners.templateOwner(
    String(ref.uri),
    view.members.filter((x) => x.up),
  );
  if (!m) throw new McpError(ErrorCode.InvalidParams, `unknown resource template "${String(ref.uri)}"`);
  return ask(m, 'completion/complete', params, extra);
}
