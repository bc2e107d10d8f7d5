// authorizationServer.redirectUriPatterns: what check-config refuses (README "Real clients' quirks").
import t from 'tap';
import { loadConfig } from '../../src/app/config.js';

const CLAUDE_AI = 'https://claude.ai/api/mcp/auth_callback';
const CURSOR_APP = 'cursor://anysphere.cursor-mcp/oauth/callback';

t.test('the config refuses patterns no callback should have, and groups naming no client', async (t) => {
  const problems = (groups: unknown[]) =>
    loadConfig({
      doc: {
        session: { keys: [Buffer.alloc(32, 1).toString('base64')] },
        oidc: { issuer: 'https://dev-1.okta.com/oauth2/default', clientId: 'abc', clientSecret: 's3cret' },
        authorizationServer: { redirectUriPatterns: groups },
        backends: [{ name: 'a', http: { url: 'http://127.0.0.1:1/mcp' } }],
      },
    }).problems.join('\n');
  t.equal(problems([{ clientNames: ['Claude'], redirectUris: [CLAUDE_AI, CURSOR_APP, 'http://127.0.0.1/cb'] }]), '');
  for (const [bad, why] of [
    ['javascript:alert(1)', /javascript: scheme/],
    ['data:text/html,x', /data: scheme/],
    ['http://claude.ai/api/mcp/auth_callback', /loopback callbacks only/],
    ['https://claude.ai/cb#x', /fragment/],
    ['https://u:p@claude.ai/cb', /userinfo/],
    ['not a url', /not a URL/],
  ] as const)
    t.match(problems([{ clientNames: ['Claude'], redirectUris: [bad] }]), why, `${bad} refused`);
  t.match(problems([{ redirectUris: [CLAUDE_AI] }]), /clientNames or clientIds/, 'a group names its client');
  t.match(problems([{ clientNames: ['Claude'], redirectUris: [] }]), /redirectUris/, 'and at least one callback');
});
