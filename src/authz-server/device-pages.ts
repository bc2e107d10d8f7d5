/** The device flow's pages (RFC 8628): enter the code, confirm, done. Plain HTML in the proxy's look. */
import type { KoaContextWithOIDC } from 'oidc-provider';
import { escapeHtml, narrowPage } from '../web/html.js';

export function deviceSources() {
  return {
    userCodeInputSource: (
      ctx: KoaContextWithOIDC,
      form: string,
      out?: { error?: string; error_description?: string },
      err?: Error & { error?: string },
    ) => {
      ctx.type = 'html';
      const code = out?.error ?? err?.error;
      const message =
        code === 'access_denied'
          ? 'The request was cancelled: nothing was connected.'
          : code
            ? 'That code is not valid or has expired: check it and try again.'
            : '';
      const error = message ? `<p class="muted" id="error">${escapeHtml(message)}</p>` : '';
      // oidc-provider's form already has the user_code input: add only the button
      // (a second input would post the field twice).
      const withButton = form.replace('</form>', '<button type="submit" id="continue">Continue</button></form>');
      ctx.body = narrowPage(
        'Connect a device',
        `<h1>Connect a device</h1>${error}` +
          `<div class="card"><p>Enter the code shown on your device.</p>${withButton}</div>`,
      );
    },
    userCodeConfirmSource: (
      ctx: KoaContextWithOIDC,
      form: string,
      client: { clientName?: string; clientId: string },
      _info: unknown,
      userCode: string,
    ) => {
      ctx.type = 'html';
      const buttons = form.replace(
        '</form>',
        '<button type="submit" id="confirm">Continue</button> <button type="submit" class="secondary" ' +
          'name="abort" value="yes">Cancel</button></form>',
      );
      ctx.body = narrowPage(
        'Confirm the device',
        '<h1>Confirm the device</h1><div class="card">' +
          `<p><strong>${escapeHtml(client.clientName ?? client.clientId)}</strong> asks to connect with the code ` +
          `<code>${escapeHtml(userCode)}</code>. Only continue if it is the code shown on your device.</p>` +
          `${buttons}</div>`,
      );
    },
    successSource: (ctx: KoaContextWithOIDC) => {
      ctx.type = 'html';
      ctx.body = narrowPage(
        'Device connected',
        '<h1>Device connected</h1><p>You can close this window and go back to your device.</p>',
      );
    },
  };
}
