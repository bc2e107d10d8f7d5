/** Small network facts shared by config validation, the Host check and the OIDC client. */
import { BlockList, isIP } from 'node:net';

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * Address ranges a client may never make the proxy fetch (SSRF): unspecified, private,
 * loopback, CGNAT, link-local (cloud metadata), IETF/documentation/benchmark ranges,
 * multicast and reserved; for IPv6 also ::/64 (every IPv4-compatible, -mapped and
 * -translated form), NAT64 and 6to4 (they embed an IPv4 address), ULA, link-local, multicast.
 */
// Two lists: a BlockList matches IPv4 addresses against IPv6 subnets through their mapped form (::/64 would hold them all).
const SPECIAL_V4 = new BlockList();
const SPECIAL_V6 = new BlockList();
for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 3]] as const) {
  SPECIAL_V4.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [['::', 64], ['64:ff9b::', 32], ['100::', 64], ['2001::', 23], ['2001:db8::', 32], ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
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
