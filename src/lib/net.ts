/** Small network facts shared by config validation, the Host check and the OIDC client. */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * Address ranges a client may never make the proxy fetch (SSRF): unspecified, private,
 * loopback, CGNAT, link-local (cloud metadata), IETF/documentation/benchmark ranges,
 * multicast and reserved; for IPv6 also ::/64 (every IPv4-compatible, -mapped and
 * -translated form), NAT64 and 6to4 (they embed an IPv4 address), ULA, link-local, multicast.
 */
// Two lists: a BlockList matches IPv4 addresses against IPv6 subnets through their mapped form
// (::/64 would hold them all).
const SPECIAL_V4 = new BlockList();
const SPECIAL_V6 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
] as const) {
  SPECIAL_V4.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 64],
  ['64:ff9b::', 32],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  SPECIAL_V6.addSubnet(net, prefix, 'ipv6');
}

/**
 * IP literals that must never be fetched on a client's say-so (the ranges above). A name is
 * not an IP literal (false: names are checked after resolution); a bracketed or colon-holding
 * string that is not a valid IPv6 address is refused (true).
 */
export function isSpecialUseAddress(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const kind = isIP(h);
  if (kind === 4) return SPECIAL_V4.check(h, 'ipv4');
  if (kind === 6) return SPECIAL_V6.check(h, 'ipv6');
  return h.includes(':');
}

/**
 * A URL a client named (redirect URI, jwks_uri, client metadata document) that the
 * proxy may send a browser to or fetch: https, or plain http to a loopback host.
 */
export function isHttpsOrLoopbackHttp(value: unknown): boolean {
  const u = typeof value === 'string' ? URL.parse(value) : null;
  return !!u && (u.protocol === 'https:' || (u.protocol === 'http:' && isLoopbackHost(u.hostname)));
}

const refused = (host: string) =>
  Object.assign(new Error(`${host} resolves to a special-use address: not fetched`), { code: 'ESPECIALUSE' });

/** dns.lookup that fails when any address of the name is special-use: the check happens before a socket is opened. */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    if (addresses.some((a) => isSpecialUseAddress(a.address))) return callback(refused(hostname), '', 0);
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};

const guardedAgent = new Agent({ connect: { lookup: guardedLookup } });

/**
 * fetch for URLs a client chose (its jwks_uri, its metadata document): a special-use address —
 * an IP literal, or any address a name resolves to — is refused before connecting, so not even
 * a TCP handshake reaches an internal port (a blind port scan otherwise).
 */
export const guardedFetch: typeof fetch = async (input, init) => {
  const url = new URL(input instanceof Request ? input.url : input);
  if (isSpecialUseAddress(url.hostname)) throw new TypeError('fetch failed', { cause: refused(url.hostname) });
  return undiciFetch(input as never, { ...(init as object), dispatcher: guardedAgent } as never) as unknown as Response;
};
