#!/usr/bin/env node
// `npm start`: the demo HTTP MCP server (examples/) plus the proxy with config/dev.yaml,
// in one process so one command gives a newcomer a working login and a whoami tool.
import { startDemoHttpServer } from '../examples/demo-http-server.mjs';

// config/dev.yaml names the demo stdio server by a path relative to the project root.
process.chdir(new URL('..', import.meta.url).pathname);
const port = Number(process.env.PORT ?? 8080);
const publicUrl = `http://127.0.0.1:${port}`;
const demo = await startDemoHttpServer({
  port: Number(process.env.DEMO_PORT ?? 0),
  jwksUrl: `${publicUrl}/.well-known/jwks.json`,
  issuer: publicUrl,
});
process.env.DEMO_HTTP_URL = demo.url;

const { main } = await import('../dist/cli.js');
setTimeout(() => {
  process.stderr.write(
    `\n  Demo ready: open ${publicUrl}/ and log in as alice / alice (or bob / bob).\n  MCP endpoints: ` +
      `${publicUrl}/mcp (HTTP demo backend) and ${publicUrl}/mcp/legacy (stdio demo, a process per user);\n` +
      '  open one in the browser for the lines that connect Claude Code, Inspector, VS Code, Cursor.\n' +
      `  Demo API key (scripts, curl, Inspector CLI): curl -H "Authorization: Bearer demo-api-key-never-deploy" ` +
      `${publicUrl}/api/backends\n\n`,
  );
}, 300).unref();
const code = await main([
  '--config',
  new URL('../config/dev.yaml', import.meta.url).pathname,
  ...process.argv.slice(2),
]);
await demo.close();
process.exit(code);
