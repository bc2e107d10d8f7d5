/** The connection state of backends with `upstream`, as HTML for the home page and the explorer. */
import type { BackendConfig } from '../config/schema.js';
import type { Connection } from '../upstream/connections.js';
import { escapeHtml } from './html.js';

/** What the proxy does without the user for the kinds that need no connection. */
const AUTOMATIC: Record<string, string> = {
  tokenExchange: 'token exchange (automatic)',
  clientCredentials: "the proxy's own identity",
};

export interface ConnectionView {
  backend: string;
  config: Pick<BackendConfig, 'upstream'>;
  /** The user's connection, when the backend's upstream kind is oauth and they have one. */
  connection?: Connection;
  /** Whether the viewer can connect and disconnect here (a browser session). */
  controls: boolean;
  /** Where /connect sends the browser back to (a local path). */
  returnTo: string;
}

/** The HTML of one backend's connection state (empty for a backend without `upstream`). */
export function connectionHtml(v: ConnectionView): string {
  const kind = v.config.upstream?.kind;
  if (!kind) return '';
  const id = escapeHtml(v.backend);
  if (kind !== 'oauth') {
    const what = escapeHtml(AUTOMATIC[kind] ?? kind);
    return `<span class="muted" id="connection-${id}" data-state="automatic">${what}</span>`;
  }
  if (v.connection) {
    const scopes = v.connection.scopes.length ? ` (${escapeHtml(v.connection.scopes.join(' '))})` : '';
    const button = v.controls
      ? ` <button class="secondary disconnect" type="button" id="disconnect-${id}" data-backend="${id}">` +
        'Disconnect</button>'
      : '';
    return `<span id="connection-${id}" data-state="connected">Connected${scopes}</span>${button}`;
  }
  const href = `/connect/${encodeURIComponent(v.backend)}?returnTo=${encodeURIComponent(v.returnTo)}`;
  const link = v.controls ? ` <a class="button connect" id="connect-${id}" href="${escapeHtml(href)}">Connect</a>` : '';
  return `<span id="connection-${id}" data-state="disconnected">Not connected</span>${link}`;
}

/** The names of the backends whose upstream kind is oauth: those a user connects to. */
export function oauthBackendNames(backends: ReadonlyArray<{ name: string; config: Pick<BackendConfig, 'upstream'> }>) {
  return backends.filter((b) => b.config.upstream?.kind === 'oauth').map((b) => b.name);
}
