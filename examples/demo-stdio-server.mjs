#!/usr/bin/env node
// Demo MCP backend over stdio: the same tools as the HTTP demo (examples/demo-tools.mjs).
// `whoami` reports params._meta["io.mcp-oidc-proxy/user"], the MCP_PROXY_USER_* env vars
// a per-user process receives (README: "What a backend receives"), and the pid (to tell processes apart).
//
//   node examples/demo-stdio-server.mjs
// stdout carries the protocol only; diagnostics go to stderr.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createDemoServer, isMainModule, metaUser } from './demo-tools.mjs';

const ENV_KEYS = ['MCP_PROXY_USER_SUB', 'MCP_PROXY_USER_EMAIL', 'MCP_PROXY_USER_GROUPS'];

function describeIdentity(extra) {
  return {
    transport: 'stdio',
    meta: metaUser(extra),
    env: Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k] ?? null])),
    pid: process.pid,
  };
}

/** Serve the demo tools on the given streams (default: this process's stdin/stdout). */
export async function runDemoStdioServer({ stdin = process.stdin, stdout = process.stdout } = {}) {
  const server = createDemoServer({ name: 'demo-stdio-server', describeIdentity });
  const transport = new StdioServerTransport(stdin, stdout);
  await server.connect(transport);
  return server;
}

if (isMainModule(import.meta.url)) {
  runDemoStdioServer()
    .then((server) => {
      // Exit when the client closes our stdin (the proxy ends the session).
      process.stdin.once('end', () => server.close().finally(() => process.exit(0)));
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
