/**
 * Checks that span several sections of the config (a backend's upstream and `oidc`, replicas and
 * the store, …). They run on whichever sections are valid, so one run reports every problem:
 * a check that needs a section which failed its own schema is skipped, not guessed at.
 */
import { isLoopbackHost } from '../lib/net.js';
import type { BackendConfig } from './backend-schema.js';

interface OidcPart {
  issuer: string;
  clientSecret?: string;
  allowInsecure: boolean;
  endpoints?: Record<string, string | undefined>;
}

/** What the checks read of the valid sections (a backend list holds `undefined` where a backend is invalid). */
export interface ValidParts {
  server?: { advertiseUrl?: string; publicUrl?: string; tls?: { clientAuth: string } };
  clientCertificates?: unknown[];
  oidc?: OidcPart;
  backends?: Array<BackendConfig | undefined>;
  authorizationServer?: { enabled: boolean; enterpriseIdps: unknown[]; clients: unknown[] };
  devIdp?: { enabled: boolean };
  store?: { kind: string; url?: string };
}

type Report = (path: PropertyKey[], message: string) => void;

/**
 * Cross-section problems of `c`; `broken` names the top-level sections that are present but
 * invalid (their own problems are reported elsewhere).
 */
export function crossFieldProblems(c: ValidParts, report: Report, broken: ReadonlySet<string> = new Set()): void {
  const ok = (...sections: string[]) => sections.every((s) => !broken.has(s));
  const backends = (c.backends ?? []).map((b, i) => [b, i] as const).filter(([b]) => b !== undefined) as Array<
    readonly [BackendConfig, number]
  >;
  for (const [b, i] of backends) {
    const u = b.upstream;
    if (ok('oidc') && u?.kind === 'tokenExchange' && !c.oidc && !(u.tokenEndpoint && u.clientId))
      report(
        ['backends', i, 'upstream'],
        'tokenExchange needs the oidc section (its token endpoint and client) or tokenEndpoint and clientId',
      );
  }
  if (backends.filter(([b]) => b.default).length > 1) report(['backends'], 'only one backend may be "default"');
  if (c.oidc) oidcProblems(c.oidc, report);
  if (c.server?.advertiseUrl && c.store?.kind === 'memory')
    report(['server', 'advertiseUrl'], 'several replicas need a shared store: set store.kind to redis or postgres');
  const as = c.authorizationServer;
  const login = !!(c.oidc || c.devIdp?.enabled);
  if (as && ok('oidc', 'devIdp')) {
    if (as.enterpriseIdps.length && (!as.enabled || !login))
      report(
        ['authorizationServer', 'enterpriseIdps'],
        'enterprise IdPs need the authorization server: enabled, with oidc (or devIdp) configured',
      );
    if (as.clients.length && (!as.enabled || !login))
      report(
        ['authorizationServer', 'clients'],
        'machine clients need the authorization server: enabled, with oidc (or devIdp) configured',
      );
  }
  if (ok('server')) tlsProblems(c, report);
  if (c.store && c.store.kind !== 'memory' && !c.store.url)
    report(['store', 'url'], `store "${c.store.kind}" needs a url`);
}

/** The TLS listener and client certificates as principals (DESIGN.md §13). */
function tlsProblems(c: ValidParts, report: Report): void {
  const tls = c.server?.tls;
  if (c.clientCertificates?.length && (!tls || tls.clientAuth === 'none'))
    report(
      ['clientCertificates'],
      'client certificates need server.tls with clientCa and clientAuth optional or require',
    );
  if (tls && c.server?.publicUrl?.startsWith('http:'))
    report(['server', 'publicUrl'], 'the proxy listens over HTTPS (server.tls): publicUrl must be https');
}

function oidcProblems(oidc: OidcPart, report: Report): void {
  if (!oidc.clientSecret)
    report(
      ['oidc', 'clientSecret'],
      'the proxy is a confidential client: clientSecret is required (or OIDC_CLIENT_SECRET / --client-secret-file)',
    );
  const issuer = URL.parse(oidc.issuer);
  if (issuer?.protocol === 'http:' && !oidc.allowInsecure && !isLoopbackHost(issuer.hostname))
    report(['oidc', 'issuer'], 'a plain-http issuer is refused unless it is loopback or oidc.allowInsecure is true');
  for (const [k, v] of Object.entries(oidc.endpoints ?? {})) {
    const u = typeof v === 'string' ? URL.parse(v) : null;
    if (u?.protocol === 'http:' && !oidc.allowInsecure && !isLoopbackHost(u.hostname))
      report(
        ['oidc', 'endpoints', k],
        'a plain-http endpoint is refused unless it is loopback or oidc.allowInsecure is true',
      );
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown) => Array.isArray(v) && v.length > 0;

/** The ways in DESIGN.md §3 lists, as the document names them (present, valid or not). */
export function waysIn(doc: Record<string, unknown>): string[] {
  const ext = isObject(doc.externalTokens) ? doc.externalTokens : {};
  const as = isObject(doc.authorizationServer) ? doc.authorizationServer : {};
  const ways: Array<[string, boolean]> = [
    ['oidc', doc.oidc !== undefined && doc.oidc !== null],
    ['devIdp', isObject(doc.devIdp) && doc.devIdp.enabled === true],
    ['apiKeys', nonEmpty(doc.apiKeys)],
    ['externalTokens', nonEmpty(ext.jwt) || ext.introspection !== undefined],
    ['clientCertificates', nonEmpty(doc.clientCertificates)],
    ['authorizationServer.clients', nonEmpty(as.clients)],
  ];
  return ways.filter(([, on]) => on).map(([w]) => w);
}

export const NO_WAY_IN =
  'nobody can authenticate: configure oidc, devIdp (enabled: true), apiKeys, externalTokens ' +
  '(jwt or introspection), clientCertificates or authorizationServer.clients';
