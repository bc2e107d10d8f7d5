/**
 * Headers that belong to one connection, not to the message (RFC 9110 §7.6.1), and the
 * message's framing (`content-length`: whoever sends the message on frames it again). The
 * proxy passes none of them along, in either direction; each place adds what else it keeps back.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
]);

/** HOP_BY_HOP and the lowercase names in `more`. */
export function hopByHopAnd(...more: string[]): ReadonlySet<string> {
  return new Set([...HOP_BY_HOP, ...more]);
}
