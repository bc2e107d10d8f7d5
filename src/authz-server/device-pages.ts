/** The device flow's pages (RFC 8628): enter the code, confirm, done. Plain HTML in the proxy's look. */
import type { KoaContextWithOIDC } from 'oidc-provider';
import { escapeHtml, page } from '../web/html.js';

export function deviceSources() {
  return {
    userCodeInputSource: (ctx: KoaContextWithOIDC, form: string, _out?: unknown, err?: Error) => {
      ctx.type = 'html';
      const error = err ? `<p class="muted" id="error">${escapeHtml(err.message === 'invalid_grant' || /expired|not found|invalid/i.test(err.message) ? 'That code is not valid or has expired.' : 'Something went wrong: try again.')}</p>` : '';
      const withField = form.replace('</form>', '<p><label>Code shown on your device <input type="text" name="user_code" autocomplete="off" autofocus></label></p><button type="submit">Continue</button></form>');
      ctx.body = page('Connect a device', `<h1>Connect a device</h1>${error}<div class="card">${withField}</div>`);
    },
    userCodeConfirmSource: (ctx: KoaContextWithOIDC, form: string, client: { clientName?: string; clientId: string }, _info: unknown, userCode: string) => {
      ctx.type = 'html';
      const buttons = form.replace('</form>', '<button type="submit" id="confirm">Continue</button> <button type="submit" class="secondary" name="abort" value="yes">Cancel</button></form>');
      ctx.body = page('Confirm the device', `<h1>Confirm the device</h1><div class="card"><p><strong>${escapeHtml(client.clientName ?? client.clientId)}</strong> asks to connect with the code <code>${escapeHtml(userCode)}</code>. Only continue if it is the code shown on your device.</p>${buttons}</div>`);
    },
    successSource: (ctx: KoaContextWithOIDC) => {
      ctx.type = 'html';
      ctx.body = page('Device connected', '<h1>Device connected</h1><p>You can close this window and go back to your device.</p>');
    },
  };
}
