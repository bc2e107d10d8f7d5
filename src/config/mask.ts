/** The effective config for display (check-config, logs): secrets masked. */
const SECRET = /(secret|password|keys?$|token|sha256|^key$)/i;

export function maskSecrets(value: unknown, key = ''): unknown {
  if (typeof value === 'string' && SECRET.test(key)) return value ? '********' : value;
  if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(value))
    return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:\s]*:)[^/@\s]*@/i, '$1********@');
  if (Array.isArray(value))
    return SECRET.test(key) && value.every((v) => typeof v === 'string')
      ? value.map(() => '********')
      : value.map((v) => maskSecrets(v, ''));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  return value;
}
