// The MCP echo server both raw bench backends speak (HTTP and stdio): no SDK, no
// validation beyond JSON, so what the bench measures is the thing in front of it.
import { randomUUID } from 'node:crypto';

const TOOLS = [
  { name: 'echo', description: 'Returns its arguments', inputSchema: { type: 'object' } },
  { name: 'stream', description: 'Answers as an SSE stream (HTTP backend)', inputSchema: { type: 'object' } },
];

/** The answer to one JSON-RPC message, or undefined for a notification. */
export function answer(msg) {
  if (!msg || typeof msg !== 'object' || Array.isArray(msg))
    return { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request' } };
  if (msg.id === undefined || msg.id === null) return undefined;
  switch (msg.method) {
    case 'initialize':
      return {
        jsonrpc: '2.0',
        id: msg.id,
        result: {
          protocolVersion: msg.params?.protocolVersion ?? '2025-06-18',
          capabilities: { tools: {} },
          serverInfo: { name: 'bench-echo', version: '1.0.0' },
        },
      };
    case 'ping':
      return { jsonrpc: '2.0', id: msg.id, result: {} };
    case 'tools/list':
      return { jsonrpc: '2.0', id: msg.id, result: { tools: TOOLS } };
    case 'tools/call':
      return {
        jsonrpc: '2.0',
        id: msg.id,
        result: { content: [{ type: 'text', text: JSON.stringify(msg.params?.arguments ?? {}) }] },
      };
    default:
      return { jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: `method not found: ${msg.method}` } };
  }
}

export const newSessionId = () => randomUUID();
