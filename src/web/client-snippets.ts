/** Copy-paste lines that connect common MCP clients to one MCP URL of this proxy (README, "Connect MCP clients"). */

export interface ClientSnippet {
  /** Stable id, for tests and page anchors. */
  id: string;
  client: string;
  /** Where it goes (a shell, a file). */
  where: string;
  text: string;
}

/** A name clients may use for the server: letters, digits, `-` and `_`. */
function serverName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '-') || 'mcp';
}

/**
 * The lines for `url` (an MCP URL of this proxy), named `name` in the client's config. Every
 * line but the Inspector CLI's logs in through the browser (OAuth); the CLI one takes an API key.
 */
export function clientSnippets(url: string, name: string): ClientSnippet[] {
  const n = serverName(name);
  const plainHttp = url.startsWith('http://');
  return [
    {
      id: 'claude-code',
      client: 'Claude Code',
      where: 'shell; then /mcp in Claude Code → Authenticate',
      text: `claude mcp add --transport http ${n} ${url}`,
    },
    {
      id: 'inspector',
      client: 'MCP Inspector (UI)',
      where: 'shell; then Connect → log in',
      text: `npx @modelcontextprotocol/inspector@latest --transport http --server-url ${url}`,
    },
    {
      id: 'inspector-cli',
      client: 'MCP Inspector (CLI)',
      where: 'shell, with an API key (apiKeys)',
      text:
        `npx @modelcontextprotocol/inspector@latest --cli ${url} --transport http --method tools/list ` +
        '--header "Authorization: Bearer $MCP_API_KEY"',
    },
    {
      id: 'mcp-remote',
      client: 'mcp-remote (stdio-only clients)',
      where: 'the command of a stdio MCP server',
      text: `npx mcp-remote ${url}${plainHttp ? ' --allow-http' : ''}`,
    },
    {
      id: 'vscode',
      client: 'VS Code',
      where: '.vscode/mcp.json',
      text: JSON.stringify({ servers: { [n]: { type: 'http', url } } }, null, 2),
    },
    {
      id: 'cursor',
      client: 'Cursor',
      where: '~/.cursor/mcp.json',
      text: JSON.stringify({ mcpServers: { [n]: { url } } }, null, 2),
    },
  ];
}
