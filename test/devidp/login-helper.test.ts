/** The test helpers themselves: cookie jar rules and form parsing. */
import t from 'tap';
import { classifyForm, CookieJar, parseForms } from '../helpers/login.js';

t.test('cookie jar', async (t) => {
  const jar = new CookieJar();
  jar.set('http://127.0.0.1:1000/a/b/page', 'dflt=1');
  jar.set('http://127.0.0.1:1000/x', 'root=1; Path=/; HttpOnly; SameSite=Lax');
  jar.set('http://127.0.0.1:1000/x', 'scoped=1; path=/interaction/abc');
  t.equal(jar.get('http://127.0.0.1:2000/', 'root'), '1', 'shared across ports of one host');
  t.equal(jar.get('http://localhost:1000/', 'root'), undefined, 'not across host names');
  t.equal(jar.get('http://127.0.0.1:1000/a/b/other', 'dflt'), '1', 'default path = directory of the URL');
  t.equal(jar.get('http://127.0.0.1:1000/a/c', 'dflt'), undefined);
  t.equal(jar.get('http://127.0.0.1:1000/interaction/abc/login', 'scoped'), '1');
  t.equal(jar.get('http://127.0.0.1:1000/interaction/abcd', 'scoped'), undefined, 'path match is per segment');
  t.equal(jar.header('http://127.0.0.1:1000/interaction/abc'), 'scoped=1; root=1', 'longest path first');

  jar.set('http://127.0.0.1:1000/', 'root=2; Path=/');
  t.equal(jar.get('http://127.0.0.1:1000/', 'root'), '2', 'replaced');
  jar.set('http://127.0.0.1:1000/', 'root=; Path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT');
  t.equal(jar.get('http://127.0.0.1:1000/', 'root'), undefined, 'deleted by Expires');
  jar.set('http://127.0.0.1:1000/', 'gone=1; Path=/; Max-Age=0; Expires=Fri, 01 Jan 2100 00:00:00 GMT');
  t.equal(jar.get('http://127.0.0.1:1000/', 'gone'), undefined, 'Max-Age wins over Expires');
  jar.set('http://example.com/', 'sec=1; Secure');
  t.equal(jar.get('http://example.com/', 'sec'), undefined, 'Secure cookies only over https');
  t.equal(jar.get('https://example.com/', 'sec'), '1');
  t.equal(jar.header('http://nowhere/'), undefined);
});

t.test('forms', async (t) => {
  const html =
    `<form method="post" action="../interaction/u1/login?x=1&amp;y=2">
    <input name="username" value="&lt;a&gt;"><input type="password" name="password">
    <input type="hidden" name="h" value='q"q'><input type="checkbox" name="c">` +
    `<input type="checkbox" name="d" value="on" checked>
    <button type="submit" name="go" value="1">Sign <b>in</b></button><button type="button">x</button></form>
    <form action=""><button>Allow</button></form>`;
  const [login, second] = parseForms(html, 'http://h:1/oauth2/default/auth?q');
  t.equal(login!.method, 'POST');
  t.equal(login!.action, 'http://h:1/oauth2/interaction/u1/login?x=1&y=2');
  t.same(login!.fields, { username: '<a>', password: '', h: 'q"q', d: 'on' });
  t.same(login!.buttons, [{ name: 'go', value: '1', text: 'Sign in' }]);
  t.equal(classifyForm(login!, html), 'login');
  t.equal(second!.method, 'GET');
  t.equal(second!.action, 'http://h:1/oauth2/default/auth?q');
  t.equal(classifyForm(second!, html), 'consent');

  const logout = parseForms(
    '<form method="post" action="/s/confirm"><input type="hidden" name="xsrf" value="x"></form>',
    'http://h/',
  );
  t.equal(classifyForm(logout[0]!, ''), 'logout');
  const auto =
    '<script>document.forms[0].submit()</script>' +
    '<form method="post" action="/cb"><input type="hidden" name="code" value="c"></form>';
  t.equal(classifyForm(parseForms(auto, 'http://h/')[0]!, auto), 'autosubmit');
  const other =
    '<form method="post" action="/oauth/logout"><input type="hidden" name="csrf" value="x">' +
    '<button>Log out</button></form>';
  t.equal(classifyForm(parseForms(other, 'http://h/')[0]!, other), undefined, 'an app form is left alone');
});
