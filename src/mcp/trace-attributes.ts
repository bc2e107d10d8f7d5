/**
 * What a span may say about an MCP request: the backend, the JSON-RPC method(s) and the tool
 * called, never arguments (OpenTelemetry's MCP conventions: `mcp.method.name`, `gen_ai.tool.name`).
 */
import type { SpanAttributes } from '../observability/tracing.js';
import type { McpRequest } from './request.js';

export function callAttributes(backend: string, request: McpRequest): SpanAttributes {
  const methods = request.declared
    ? [request.declared.method]
    : request.messages.map((m) => m.method).filter((m): m is string => typeof m === 'string');
  const tools = request.declared
    ? request.declared.method === 'tools/call' && request.declared.name
      ? [request.declared.name]
      : []
    : request.messages
        .filter((m) => m.method === 'tools/call' && typeof m.params?.name === 'string')
        .map((m) => m.params!.name as string);
  return {
    'mcp_proxy.backend': backend,
    'mcp.method.name': methods.length ? [...new Set(methods)].join(',').slice(0, 200) : undefined,
    'gen_ai.tool.name': tools.length ? [...new Set(tools)].join(',').slice(0, 200) : undefined,
    'mcp_proxy.batch': request.batch || undefined,
  };
}
