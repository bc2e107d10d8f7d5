/** Small network facts shared by config validation, the Host check and the OIDC client. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * IP literals that must never be fetched on a client's say-so (SSRF): loopback, private,
 * link-local (cloud metadata), CGNAT, unique-local, unspecified, multicast. Names are
 * checked after resolution by oidc-provider's own fetch guard.
 */
export function isSpecialUseAddress(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(h);
  if (v4) {
    const [a, b, c] = [Number(v4[1]), Number(v4[2]), Number(v4[3])];
    return a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || a >= 224
      // IETF protocol assignments, documentation and benchmarking ranges
      || (a === 192 && b === 0 && (c === 0 || c === 2)) || (a === 198 && (b === 18 || b === 19)) || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113);
  }
  if (!h.includes(':')) return false;
  const w = ipv6Words(h);
  if (!w) return true; // not a valid IPv6 literal: never fetch it
  const [w0, w1] = [w[0]!, w[1]!];
  // ::/64 holds ::, ::1 and every IPv4-compatible/-mapped/-translated form (::7f00:1, ::ffff:127.0.0.1, ::ffff:0:…);
  // 64:ff9b::/32 (NAT64) and 2002::/16 (6to4) embed an IPv4 address too.
  return (w0 === 0 && w1 === 0 && w[2] === 0 && w[3] === 0) || (w0 === 0x64 && w1 === 0xff9b) || w0 === 0x2002
    || (w0 === 0x100 && w1 === 0 && w[2] === 0 && w[3] === 0) || (w0 === 0x2001 && (w1 < 0x200 || w1 === 0xdb8))
    || (w0 & 0xfe00) === 0xfc00 || (w0 & 0xffc0) === 0xfe80 || (w0 & 0xff00) === 0xff00;
}

/** The eight 16-bit words of an IPv6 literal (dotted IPv4 tail allowed), or undefined. */
function ipv6Words(h: string): number[] | undefined {
  const tail = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(h);
  const text = tail ? `${tail[1]}${((+tail[2]! << 8) | +tail[3]!).toString(16)}:${((+tail[4]! << 8) | +tail[5]!).toString(16)}` : h;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const part = (s: string) => (s ? s.split(':') : []);
  const [head, rest] = [part(halves[0]!), halves.length === 2 ? part(halves[1]!) : []];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const words = [...head, ...Array<string>(missing).fill('0'), ...rest];
  return words.every((x) => /^[0-9a-f]{1,4}$/.test(x)) ? words.map((x) => parseInt(x, 16)) : undefined;
}
