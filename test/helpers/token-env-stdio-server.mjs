#!/usr/bin/env node
// A stdio MCP server for the tests of `upstream.env`: tool `credential` answers what its
// environment holds of the upstream token (`TOKEN_ENV` names the variable), and what the token
// file named by `<TOKEN_ENV>_FILE` holds now, with the file's and its directory's mode.
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

const name = process.env.TOKEN_ENV ?? 'UPSTREAM_TOKEN';
const server = new McpServer({ name: 'token-env-stdio-server', version: '1' });

function fileState(file) {
  try {
    return {
      content: readFileSync(file, 'utf8'),
      mode: statSync(file).mode & 0o777,
      dirMode: statSync(dirname(file)).mode & 0o777,
    };
  } catch (e) {
    return { error: e.code ?? String(e) };
  }
}

server.registerTool(
  'credential',
  { description: 'The upstream token in the environment and in its file.', annotations: { readOnlyHint: true } },
  async () => {
    const file = process.env[`${name}_FILE`];
    const state = {
      pid: process.pid,
      sub: process.env.MCP_PROXY_USER_SUB ?? null,
      env: process.env[name] ?? null,
      file: file ?? null,
      ...(file ? fileState(file) : {}),
    };
    return { content: [{ type: 'text', text: JSON.stringify(state) }] };
  },
);

await server.connect(new StdioServerTransport());
