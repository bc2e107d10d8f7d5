/**
 * Prometheus metrics at `GET /metrics`, on a registry of this app's own (tests run
 * several apps in one process). No credentials, like /healthz; 404 with `metrics.enabled: false`.
 * Labels never carry who made a request (no sub, email, token, cookie): only backend names
 * from config, known MCP method names, status codes and fixed words, so they stay bounded.
 *
 * - `Metrics`: the registry, process metrics, and the counters other modules feed (logins,
 *   tokens issued by the authorization server, store failures).
 * - `metricsRoutes`: per-request MCP metrics (from what the route and backends noted in
 *   request-facts.ts), the gauges read at scrape time, and the route itself.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BackendRegistry } from '../backends/registry.js';
import { parseJson } from '../mcp/jsonrpc.js';
import type { OpenStreams } from '../mcp/streams.js';
import type { StoreOperation } from '../store/observed.js';
import { decisionLabel, type LoginFailure, methodLabel, type TokenEvent } from './metric-labels.js';
import { factsOf } from './request-facts.js';

export type { Decision, LoginFailure, TokenEvent } from './metric-labels.js';

const PREFIX = 'mcp_proxy_';
const MCP_ROUTES = new Set(['/mcp', '/mcp/:backend']);
/** Unauthenticated bodies are not parsed by the route; metrics reads the method of small ones only. */
const PEEK_BYTES = 64 * 1024;
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** Something that emits oidc-provider's events. */
interface EventSource {
  on(event: string, listener: (...args: never[]) => void): unknown;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly logins: Counter<'result' | 'reason'>;
  private readonly tokens: Counter<'event'>;
  private readonly storeErrors: Counter<'operation'>;
  private readonly upstreamTokens: Counter<'backend' | 'kind' | 'result'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    this.logins = new Counter({
      name: `${PREFIX}logins_total`,
      help: 'Browser logins finished at /oauth/callback, by result and (failures) reason.',
      labelNames: ['result', 'reason'],
      registers,
    });
    this.tokens = new Counter({
      name: `${PREFIX}tokens_total`,
      help: 'Authorization server token events: access tokens issued, refresh grants, grants revoked.',
      labelNames: ['event'],
      registers,
    });
    this.storeErrors = new Counter({
      name: `${PREFIX}store_errors_total`,
      help: 'Store calls that failed, by operation.',
      labelNames: ['operation'],
      registers,
    });
    this.upstreamTokens = new Counter({
      name: `${PREFIX}upstream_tokens_total`,
      help: 'Tokens for backends with upstream credentials: obtained at the token endpoint, reused, or failed.',
      labelNames: ['backend', 'kind', 'result'],
      registers,
    });
    for (const event of ['issued', 'refreshed', 'revoked'] as const) this.tokens.inc({ event }, 0);
    this.logins.inc({ result: 'success' }, 0);
  }

  loginSucceeded(): void {
    this.logins.inc({ result: 'success' });
  }

  loginFailed(reason: LoginFailure): void {
    this.logins.inc({ result: 'failure', reason });
  }

  /** A backend's upstream token (kind: tokenExchange | clientCredentials; result: exchanged | cached | failed). */
  upstreamToken(backend: string, kind: string, result: string): void {
    this.upstreamTokens.inc({ backend, kind, result });
  }

  storeError(operation: StoreOperation): void {
    this.storeErrors.inc({ operation });
  }

  /**
   * Counts the authorization server's token events (oidc-provider 9 names): an access token
   * issued (`access_token.issued` for JWTs, `.saved` for opaque ones), a refresh_token grant
   * (`grant.success`), a grant revoked (`grant.revoked`: revocation endpoint, reuse detection).
   */
  watchTokens(provider: EventSource): void {
    const count = (event: TokenEvent) => () => this.tokens.inc({ event });
    provider.on('access_token.issued', count('issued'));
    provider.on('access_token.saved', count('issued'));
    provider.on('client_credentials.issued', count('issued'));
    provider.on('client_credentials.saved', count('issued'));
    provider.on('grant.success', (ctx: { oidc?: { params?: { grant_type?: unknown } } }) => {
      if (ctx?.oidc?.params?.grant_type === 'refresh_token') this.tokens.inc({ event: 'refreshed' });
    });
    provider.on('grant.revoked', count('revoked'));
  }
}

export interface MetricsRouteOptions {
  metrics: Metrics;
  backends: BackendRegistry;
  streams: OpenStreams;
}

async function metricsPlugin(app: FastifyInstance, opts: MetricsRouteOptions): Promise<void> {
  const { metrics, backends, streams } = opts;
  const registers = [metrics.registry];
  const requests = new Counter({
    name: `${PREFIX}requests_total`,
    help: 'Requests to /mcp and /mcp/:backend by backend, JSON-RPC method, HTTP status and decision.',
    labelNames: ['backend', 'method', 'status', 'decision'],
    registers,
  });
  const latency = (name: string, help: string, buckets: number[]) =>
    new Histogram({ name: `${PREFIX}${name}`, help, labelNames: ['backend'], buckets, registers });
  const duration = latency(
    'request_duration_seconds',
    'MCP requests as the proxy sees them: to the end of a JSON answer, to the response headers of an SSE stream.',
    LATENCY_BUCKETS,
  );
  const waited = latency(
    'backend_duration_seconds',
    'Time waiting for the backend: HTTP, to its response headers; stdio, from handing the message to the child ' +
      'to its first answer.',
    LATENCY_BUCKETS,
  );
  const overhead = latency(
    'overhead_seconds',
    'Proxy time minus backend time, for answers that are not streamed.',
    OVERHEAD_BUCKETS,
  );
  const stats = () => backends.all().map((b) => ({ name: b.name, stats: b.stats() }));
  new Gauge({
    name: `${PREFIX}mcp_sessions`,
    help: 'MCP sessions this proxy knows, by backend.',
    labelNames: ['backend'],
    registers,
    collect() {
      this.reset();
      for (const b of stats()) if (b.stats) this.set({ backend: b.name }, b.stats.sessions);
    },
  });
  new Gauge({
    name: `${PREFIX}sse_streams`,
    help: 'Open standalone SSE streams (MCP GET).',
    registers,
    collect() {
      this.set(streams.size);
    },
  });
  new Gauge({
    name: `${PREFIX}stdio_processes`,
    help:
      'Live stdio server processes by backend and state ' +
      '(busy: a request in flight; idle: sessions attached; detached: no session).',
    labelNames: ['backend', 'state'],
    registers,
    collect() {
      this.reset();
      for (const b of stats())
        for (const [state, n] of Object.entries(b.stats.processes ?? {})) this.set({ backend: b.name, state }, n);
    },
  });

  // Read from the registry each time: a reload may add or remove backends.
  const backendOf = (req: FastifyRequest, route: string) => {
    const name = route === '/mcp' ? backends.defaultName : (req.params as { backend?: string }).backend;
    return name !== undefined && backends.has(name) ? name : 'unknown';
  };
  // prom-client hashes a label set at every call; the labelled series are looked up once per
  // request here instead (their label sets are bounded, see above).
  const requestSeries = new Map<string, Counter.Internal>();
  const latencySeries = new Map<
    string,
    [Histogram.Internal<'backend'>, Histogram.Internal<'backend'>, Histogram.Internal<'backend'>]
  >();
  const seriesOf = (backend: string) => {
    let s = latencySeries.get(backend);
    if (!s)
      latencySeries.set(
        backend,
        (s = [duration.labels({ backend }), waited.labels({ backend }), overhead.labels({ backend })]),
      );
    return s;
  };

  function record(req: FastifyRequest, reply: FastifyReply, route: string, streamed: boolean): void {
    const facts = factsOf(req);
    const backend = backendOf(req, route);
    const status = reply.raw.statusCode;
    const body = req.body;
    const json =
      facts.json ??
      (req.method === 'POST' && Buffer.isBuffer(body) && body.length <= PEEK_BYTES ? parseJson(body) : undefined);
    const labels = {
      backend,
      method: methodLabel(req.method, json, facts.declaredMethod),
      status: String(status),
      decision: decisionLabel(status, facts, Boolean(req.principal)),
    };
    const key = `${labels.backend}\n${labels.method}\n${labels.status}\n${labels.decision}`;
    let counter = requestSeries.get(key);
    if (!counter) requestSeries.set(key, (counter = requests.labels(labels)));
    counter.inc();
    const [d, w, o] = seriesOf(backend);
    const total = streamed ? facts.headersSeconds! : reply.elapsedTime / 1000;
    d.observe(total);
    if (facts.backendSeconds === undefined) return;
    w.observe(facts.backendSeconds);
    if (!streamed) o.observe(Math.max(0, total - facts.backendSeconds));
  }

  // onSend runs for every answer (errors from earlier hooks included) right before its headers
  // go out; 'close' comes when the response ended, or was cut (streams, clients gone).
  // A callback hook, not async: no promise per response on the hot path.
  app.addHook('onSend', (req, reply, payload, done) => {
    // routeOptions is built afresh at each read: read once, and only for what may be an MCP call.
    const route = req.url.startsWith('/mcp') || !req.url.startsWith('/') ? req.routeOptions.url : undefined;
    const facts = route !== undefined && MCP_ROUTES.has(route) ? factsOf(req) : undefined;
    if (facts && facts.headersSeconds === undefined) {
      facts.headersSeconds = reply.elapsedTime / 1000;
      const streamed = String(reply.getHeader('content-type') ?? '').startsWith('text/event-stream');
      reply.raw.once('close', () => record(req, reply, route!, streamed));
    }
    done(null, payload);
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('cache-control', 'no-store').type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

/** Registered at the root (its hook sees the MCP routes). */
export const metricsRoutes = fp(metricsPlugin, { name: 'mcp-proxy-metrics' });
