// Every registry code renders a complete error page (title, explanation, at least one next step,
// the request id), and nothing from the request or config reaches the page unescaped.
import t from 'tap';
import { Errors } from '../../src/errors.js';
import { errorPageHtml } from '../../src/web/error-page.js';

t.test('every code has a page with a next step and the request id', async (t) => {
  for (const [code, Ctor] of Object.entries(Errors)) {
    const e = new (Ctor as new (...a: string[]) => Error & { statusCode: number })('x', 'y');
    const html = errorPageHtml({
      status: e.statusCode,
      code,
      message: e.message,
      requestId: '0123456789abcdef',
      path: '/somewhere',
      signedIn: true,
    });
    t.match(html, /<h1 id="error-title">[^<]+<\/h1>/, `${code}: a title`);
    t.match(html, /<p id="error-explain">[^<]+<\/p>/, `${code}: an explanation`);
    t.match(html, /<ul class="steps" id="error-steps"><li>/, `${code}: a next step`);
    t.match(html, '<code id="request-id">0123456789abcdef</code>', `${code}: the request id`);
  }
});

t.test('401 offers to log in again, back to the same path', async (t) => {
  const html = errorPageHtml({
    status: 401,
    code: 'UNAUTHENTICATED',
    message: 'authentication required',
    requestId: 'r',
    path: '/explore/a?x=1',
    signedIn: false,
  });
  t.match(html, 'href="/oauth/login?returnTo=%2Fexplore%2Fa%3Fx%3D1" id="log-in"');
});

t.test('messages, group and backend names are escaped', async (t) => {
  const html = errorPageHtml({
    status: 403,
    code: 'FORBIDDEN',
    message: 'access denied: <script>alert(1)</script>',
    requestId: '"><img>',
    path: '/x',
    signedIn: true,
    backend: { name: '<b>', groups: ['<i>g</i>'] },
    connectUrl: 'javascript:alert(1)',
  });
  t.notMatch(html, /<script>alert|<img>|<b>|<i>g|javascript:/);
  t.match(html, '&lt;script&gt;alert(1)&lt;/script&gt;');
  t.match(html, '<code class="group">&lt;i&gt;g&lt;/i&gt;</code>');
});
