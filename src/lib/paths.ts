/** Which part of the proxy a request URL (or path) belongs to: one definition for every check. */
export function isMcpPath(url: string): boolean {
  return url === '/mcp' || url.startsWith('/mcp/') || url.startsWith('/mcp?');
}

export function isApiPath(url: string): boolean {
  return url.startsWith('/api/');
}

export function isResourceMetadataPath(url: string): boolean {
  return url.startsWith('/.well-known/oauth-protected-resource');
}
