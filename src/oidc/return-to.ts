/**
 * `returnTo` accepts same-origin local paths only. Anything that a browser could read as
 * another origin (`//evil.com`, `/\evil.com`, `https://…`, encoded or with control
 * characters) falls back to `/`.
 */
export function safeReturnTo(value: unknown, fallback = '/'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return fallback;
  let decoded = value;
  // Decode repeatedly so %2F%2Fevil.com or %252F… cannot sneak through.
  for (let i = 0; i < 3; i++) {
    try {
      const next = decodeURIComponent(decoded);
      if (next === decoded) break;
      decoded = next;
    } catch {
      return fallback;
    }
  }
  for (const v of [value, decoded]) {
    if (!v.startsWith('/')) return fallback;
    if (v.startsWith('//') || v.startsWith('/\\')) return fallback;
    if (/[\u0000-\u001f\u007f\\]/.test(v)) return fallback;
  }
  // Resolving against a dummy origin must keep that origin.
  const base = 'http://return-to.invalid';
  const u = new URL(value, base);
  if (u.origin !== base) return fallback;
  if (u.pathname.startsWith('/oauth/callback')) return fallback;
  // Dot segments can collapse into a scheme-relative URL (`/.//evil.com` → `//evil.com`).
  if (u.pathname.startsWith('//')) return fallback;
  return u.pathname + u.search + u.hash;
}
