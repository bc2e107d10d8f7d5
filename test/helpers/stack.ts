/**
 * A whole real stack for end-to-end tests: an Okta-like IdP (oidc-provider on loopback,
 * issuer path /oauth2/default), the demo HTTP MCP server built with the SDK, and the proxy
 * in front of it, configured as a user would.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { startStandaloneIdp, type StandaloneIdp } from '../../src/devidp/plugin.js';
import type { DevIdpTtl } from '../../src/devidp/provider.js';
import { startDemoHttpServer, type DemoHttpServer } from '../../examples/demo-http-server.mjs';
import type { AppDeps } from '../../src/app.js';
import { freePort } from './ports.js';
import { startProxy, type RunningProxy } from './proxy.js';

export const CLIENT_ID = 'mcp-proxy-test';
export const CLIENT_SECRET = 'test-client-secret-0123456789';

export interface Stack {
  idp: StandaloneIdp;
  backend: DemoHttpServer;
  proxy: RunningProxy;
  close(): Promise<void>;
}

/** The Okta-like test IdP (oidc-provider) with the proxy's confidential client registered for `publicUrl`. */
export function startIdpFor(
  publicUrl: string,
  opts: {
    consent?: boolean;
    ttl?: DevIdpTtl;
    client?: Record<string, unknown>;
    /** Serve the IdP over HTTPS with this key and certificate (PEM). */
    tls?: { key: string; cert: string };
  } = {},
): Promise<StandaloneIdp> {
  return startStandaloneIdp({
    consent: opts.consent ?? false,
    ttl: opts.ttl,
    tls: opts.tls,
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${publicUrl}/oauth/callback`],
        post_logout_redirect_uris: [`${publicUrl}/`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        ...opts.client,
      },
    ],
  });
}

/** A fresh ES256 signing key in a file (`signing.keyFile`): restarted proxies and replicas share it. */
export async function signingKeyFile(): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), 'signing-key-')), 'signing.jwk');
  writeFileSync(
    file,
    JSON.stringify(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)),
  );
  return file;
}

export async function startStack(
  opts: {
    consent?: boolean;
    proxy?: Record<string, unknown>;
    backends?: (backendUrl: string) => unknown[];
    idpTtl?: DevIdpTtl;
    deps?: AppDeps;
    idpClient?: (publicUrl: string) => Record<string, unknown>;
  } = {},
): Promise<Stack> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const idp = await startIdpFor(publicUrl, {
    consent: opts.consent ?? true,
    ttl: opts.idpTtl,
    client: opts.idpClient?.(publicUrl),
  });
  const backend = await startDemoHttpServer({ jwksUrl: `${publicUrl}/.well-known/jwks.json`, issuer: publicUrl });
  const proxy = await startProxy(
    {
      server: { port, publicUrl },
      oidc: { issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      backends: opts.backends?.(backend.url) ?? [{ name: 'demo', http: { url: backend.url } }],
      ...opts.proxy,
    },
    opts.deps,
  );
  return {
    idp,
    backend,
    proxy,
    async close() {
      await proxy.close();
      await backend.close();
      await idp.close();
    },
  };
}

/**
 * Two replicas on one Redis behind one public URL (the first replica's, as a load balancer's):
 * the IdP for that URL, one signing key, and each replica's config document by port.
 */
export async function redisReplicaPair(redisUrl: string, backends: unknown[]) {
  const keyFile = await signingKeyFile();
  const ports = [await freePort(), await freePort()] as const;
  const publicUrl = `http://127.0.0.1:${ports[0]}`;
  const idp = await startIdpFor(publicUrl);
  const doc = (port: number) => ({
    server: { port, publicUrl },
    oidc: { issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    store: { kind: 'redis', url: redisUrl },
    signing: { keyFile },
    backends,
  });
  return { idp, publicUrl, ports, doc };
}
