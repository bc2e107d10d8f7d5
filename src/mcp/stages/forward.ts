/** Stage: the backend takes the call. GET streams are tracked so shutdown, logout and revocation can cut them. */
import type { Backend, McpForward } from '../../backends/backend.js';
import type { OpenStreams } from '../streams.js';

export function forward(b: Backend, f: McpForward, streams: OpenStreams): Promise<void> {
  if (f.request.method === 'GET') streams.add(f.reply.raw, f.principal);
  return b.forward(f);
}
