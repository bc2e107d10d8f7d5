/**
 * Callback URLs a known MCP client may move between (`authorizationServer.redirectUriPatterns`):
 * claude.ai and Cursor change theirs between versions while keeping the client they registered.
 * A client named by a group (its `client_name`, or its `client_id` matching a pattern) that
 * registered a redirect URI of that group may use any other URI of the group. `*` stands for
 * characters within one host label or path segment (never `/ ? # @ :`); everything else is exact.
 */

export interface RedirectUriPattern {
  /** `client_name`s of the client, compared ignoring case. */
  clientNames: string[];
  /** Patterns of its `client_id` (a Client ID Metadata Document URL, say). */
  clientIds: string[];
  /** The callback URLs (patterns) the client uses across versions. */
  redirectUris: string[];
}

export interface PatternClient {
  clientId: string;
  clientName?: string;
  redirectUris: string[];
}

const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'file:', 'blob:', 'vbscript:', 'about:']);
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const toRegExp = (pattern: string) => new RegExp(`^${pattern.split('*').map(literal).join('[^/?#@:]*')}$`);

/** What is wrong with a redirect URI pattern in the config, if anything. */
export function redirectPatternProblem(pattern: string): string | undefined {
  const u = URL.parse(pattern.replaceAll('*', 'x'));
  if (!u) return `${pattern} is not a URL`;
  if (pattern.includes('#')) return `${pattern}: a redirect URI has no fragment`;
  if (FORBIDDEN_SCHEMES.has(u.protocol)) return `${pattern}: the ${u.protocol} scheme is never a callback`;
  if (u.protocol === 'http:' && !LOOPBACK.has(u.hostname))
    return `${pattern}: http is for loopback callbacks only (use https)`;
  if (u.username || u.password) return `${pattern}: no userinfo`;
  return undefined;
}

/** A well-formed, normalized URL without userinfo or fragment: the only kind matched at all. */
function plain(value: string): boolean {
  const u = URL.parse(value);
  return !!u && u.href === value && !u.username && !u.password && !u.hash && !FORBIDDEN_SCHEMES.has(u.protocol);
}

/** Whether `value` is a callback the client may use under the configured groups. */
export function redirectPatterns(groups: readonly RedirectUriPattern[]) {
  const compiled = groups.map((g) => ({
    names: new Set(g.clientNames.map((n) => n.toLowerCase())),
    ids: g.clientIds.map(toRegExp),
    uris: g.redirectUris.map(toRegExp),
  }));
  return (client: PatternClient, value: string): boolean => {
    if (!plain(value)) return false;
    return compiled.some(
      (g) =>
        (g.names.has((client.clientName ?? '').toLowerCase()) || g.ids.some((r) => r.test(client.clientId))) &&
        client.redirectUris.some((r) => g.uris.some((p) => p.test(r))) &&
        g.uris.some((p) => p.test(value)),
    );
  };
}
