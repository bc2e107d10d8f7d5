// virtualServers in the config: every problem reported together (names unique across backends and
// virtual servers, members known, prefixes unique within one); a valid one is served as a resource.
import t from 'tap';
import { loadConfig } from '../../src/app/config.js';
import { resourcesOf } from '../../src/app/live-state.js';
import { TEST_SESSION_KEY } from '../helpers/proxy.js';

const base = {
  server: { publicUrl: 'http://127.0.0.1:8080' },
  session: { keys: [TEST_SESSION_KEY] },
  apiKeys: [{ name: 'k', sha256: 'a'.repeat(64), subject: 'k' }],
  backends: [
    { name: 'a', http: { url: 'http://127.0.0.1:9/mcp' }, tools: [{ match: 'x', scopes: ['x:write'] }] },
    { name: 'b', stdio: { command: 'node' } },
  ],
};

t.test('a valid virtual server', async (t) => {
  const { config, problems } = loadConfig({
    doc: {
      ...base,
      virtualServers: [
        {
          name: 'ab',
          backends: [
            { name: 'a', prefix: 'a' },
            { name: 'b', prefix: 'b' },
          ],
        },
      ],
    },
  });
  t.same(problems, []);
  const scopes = resourcesOf(config!).get('http://127.0.0.1:8080/mcp/ab');
  t.ok(scopes?.includes('mcp') && scopes.includes('x:write'), "served, with its members' scopes");
});

t.test('every problem at once', async (t) => {
  const { config, problems } = loadConfig({
    doc: {
      ...base,
      virtualServers: [
        { name: 'a', backends: [{ name: 'b', prefix: 'p' }] },
        {
          name: 'v',
          backends: [
            { name: 'a', prefix: 'p' },
            { name: 'b', prefix: 'p' },
            { name: 'zz', prefix: 'z' },
          ],
        },
        {
          name: 'v',
          backends: [
            { name: 'a', prefix: 'a' },
            { name: 'a', prefix: 'q' },
          ],
        },
        { name: 'w', backends: [{ name: 'a', prefix: 'has_underscore' }] },
        { name: 'empty', backends: [] },
        { name: 'x', backends: [{ name: 'a', prefix: 'a' }], extra: true },
      ],
    },
  });
  t.equal(config, undefined, 'refused');
  const text = problems.join('\n');
  t.match(text, /virtualServers\[0\]\.name.*"a" is already a backend name/);
  t.match(text, /virtualServers\[1\]\.backends\[1\]\.prefix.*duplicate prefix "p"/);
  t.match(text, /virtualServers\[1\]\.backends\[2\]\.name.*unknown backend "zz"/);
  t.match(text, /virtualServers\[2\]\.name.*duplicate virtual server name "v"/);
  t.match(text, /virtualServers\[2\]\.backends\[1\]\.name.*listed twice/);
  t.match(text, /virtualServers\[3\]\.backends\[0\]\.prefix/);
  t.match(text, /virtualServers\[4\]\.backends.*at least one backend/);
  t.match(text, /extra/);
});
