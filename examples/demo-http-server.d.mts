// Types for tests and tools that import the demo HTTP MCP server from TypeScript.
export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  sessionId?: string;
  body?: unknown;
}
export interface DemoHttpServer {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}
export function startDemoHttpServer(opts?: { host?: string; port?: number; jwksUrl?: string; issuer?: string; audience?: string }): Promise<DemoHttpServer>;
