// Shared definitions for the demo MCP servers (HTTP and stdio).
// One place for the tools, the resource and the prompt; each transport only
// supplies how `whoami` finds the identity the proxy sent.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

/** The `_meta` key under which the proxy puts the user (README: "What a backend receives"). */
export const META_USER_KEY = 'io.mcp-oidc-proxy/user';

export const README_URI = 'demo://readme';

const README_TEXT = `# Demo MCP server

A backend for mcp-oidc-proxy demos and tests. Tools:
- whoami: the identity the proxy forwarded (headers, signed assertion, _meta, env)
- echo: returns its text
- slow_count: n progress/logging notifications, delayMs apart (streaming check)
- delete_everything: harmless; its name is handy for policy rules
`;

/** `params._meta["io.mcp-oidc-proxy/user"]` of the current request, or null. */
export function metaUser(extra) {
  const value = extra?._meta?.[META_USER_KEY];
  return value === undefined ? null : value;
}

/** True when the module with this `import.meta.url` is the script node was started with. */
export function isMainModule(moduleUrl) {
  if (!process.argv[1]) return false;
  try {
    return moduleUrl === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

function jsonResult(object) {
  return {
    content: [{ type: 'text', text: JSON.stringify(object, null, 2) }],
    structuredContent: object,
  };
}

function textResult(text) {
  return { content: [{ type: 'text', text }] };
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(timer);
      reject(signal.reason ?? new Error('aborted'));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function slowCount({ n, delayMs }, extra) {
  const progressToken = extra._meta?.progressToken;
  // Notify, then wait: the result never directly trails the last notification (the SDK
  // client handles notifications a microtask late and drops progress for a request
  // whose response it has already processed).
  for (let i = 1; i <= n; i++) {
    if (progressToken !== undefined) {
      await extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken, progress: i, total: n, message: `count ${i}/${n}` },
      });
    }
    await extra.sendNotification({
      method: 'notifications/message',
      params: { level: 'info', logger: 'slow_count', data: { count: i, of: n, at: Date.now() } },
    });
    await sleep(delayMs, extra.signal);
  }
  return textResult(`counted to ${n}`);
}

/**
 * Build an McpServer with the demo tools, resource and prompt.
 * @param {object} options
 * @param {string} options.name server name reported in `initialize`
 * @param {(extra: object) => Promise<object> | object} options.describeIdentity
 *   what `whoami` returns, given the request handler's `extra`
 */
export function createDemoServer({ name, version = '1.0.0', describeIdentity }) {
  const server = new McpServer(
    { name, version },
    { capabilities: { logging: {}, tools: {}, resources: {}, prompts: {} } },
  );

  server.registerTool(
    'whoami',
    {
      title: 'Who am I',
      description: 'Returns the identity the proxy forwarded to this backend.',
      annotations: { readOnlyHint: true },
    },
    async (extra) => jsonResult(await describeIdentity(extra)),
  );

  server.registerTool(
    'echo',
    {
      description: 'Returns the given text.',
      inputSchema: { text: z.string() },
      annotations: { readOnlyHint: true },
    },
    async ({ text }) => textResult(text),
  );

  server.registerTool(
    'slow_count',
    {
      description:
        'Sends n progress notifications (when a progressToken is given) and n logging messages, each followed by ' +
        'a delayMs pause, then returns.',
      inputSchema: {
        n: z.number().int().min(0).max(1000),
        delayMs: z.number().int().min(0).max(60_000),
      },
      annotations: { readOnlyHint: true },
    },
    slowCount,
  );

  server.registerTool(
    'ask_client',
    {
      description:
        'Asks the client to sample an LLM completion for the question (sampling/createMessage) and returns its answer.',
      inputSchema: { question: z.string() },
    },
    async ({ question }) => {
      const answer = await server.server.createMessage({
        messages: [{ role: 'user', content: { type: 'text', text: question } }],
        maxTokens: 100,
      });
      return textResult(
        `client answered: ${answer.content.type === 'text' ? answer.content.text : answer.content.type}`,
      );
    },
  );

  server.registerTool(
    'crash',
    { description: 'Exits the server process mid-call when DEMO_ALLOW_CRASH=1 (failure tests); otherwise fails.' },
    async () => {
      if (process.env.DEMO_ALLOW_CRASH !== '1') throw new Error('crash is disabled (set DEMO_ALLOW_CRASH=1)');
      process.stderr.write('demo: crashing on purpose\n');
      process.exit(3);
    },
  );

  server.registerTool(
    'delete_everything',
    {
      description: 'Harmless demo tool whose name is useful for policy tests. Deletes nothing.',
    },
    async () => textResult('nothing deleted (demo)'),
  );

  server.registerResource(
    'readme',
    README_URI,
    { title: 'Demo README', description: 'What this demo server offers', mimeType: 'text/markdown' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/markdown', text: README_TEXT }] }),
  );

  server.registerPrompt(
    'greet',
    { description: 'Greets someone by name.', argsSchema: { name: z.string() } },
    ({ name: who }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Please greet ${who} warmly.` } }],
    }),
  );

  return server;
}
