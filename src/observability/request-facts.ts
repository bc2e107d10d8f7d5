/**
 * What the code handling one MCP request tells metrics about it: the body it parsed, the
 * policy decision, and how long the backend kept it waiting. Keyed by the request (a WeakMap:
 * nothing outlives the request, nothing is shared between requests or between apps).
 */
import type { FastifyRequest } from 'fastify';

export interface RequestFacts {
  /** The POST body as the route parsed it. */
  json?: { value: unknown };
  /** The method a 2026-07-28 request declared in `Mcp-Method` when its body was left unparsed. */
  declaredMethod?: string;
  /** Policy's answer (allow also in dry-run). */
  decision?: 'allow' | 'deny';
  /** Seconds from handing the request to the backend to its first answer (headers, or first message). */
  backendSeconds?: number;
  /** Seconds from the request's start to our response headers (set by metrics when the reply is sent). */
  headersSeconds?: number;
}

const facts = new WeakMap<FastifyRequest, RequestFacts>();

export function factsOf(req: FastifyRequest): RequestFacts {
  let f = facts.get(req);
  if (!f) facts.set(req, (f = {}));
  return f;
}

/** The route parsed the body (or judged it from its headers: `declaredMethod`) and policy decided. */
export function noteDecision(
  req: FastifyRequest,
  json: { value: unknown } | undefined,
  decision: 'allow' | 'deny',
  declaredMethod?: string,
): void {
  const f = factsOf(req);
  f.json = json;
  f.declaredMethod = declaredMethod;
  f.decision = decision;
}

/** Starts the backend clock for this request; the returned function stops it (only the first call counts). */
export function backendTimer(req: FastifyRequest): () => void {
  const started = performance.now();
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    factsOf(req).backendSeconds = (performance.now() - started) / 1000;
  };
}
