/**
 * The proxy configs inside the deployment examples (Compose files, Kubernetes manifests) are
 * real configs: each one loads without a problem, with the environment the example gives it.
 */
import t from 'tap';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/load.js';

const examples = new URL('../../examples/', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'deploy-configs-'));
const env = {
  OIDC_ISSUER: 'https://dev-123456.okta.com/oauth2/default',
  OIDC_CLIENT_ID: '0oa-test',
  OIDC_CLIENT_SECRET: 'a-client-secret',
  SESSION_KEY: Buffer.alloc(32, 5).toString('base64'),
  MCP_PROXY_SESSION_KEYS: Buffer.alloc(32, 5).toString('base64'),
  REDIS_URL: 'redis://:pw@redis:6379',
};
const replicaEnv = { ...env, MCP_PROXY_SERVER_ADVERTISE_URL: 'http://10.0.0.7:8080' };

function fromCompose(file: string): string {
  const content = (parse(readFileSync(new URL(file, examples), 'utf8')) as { configs: Record<string, { content: string }> }).configs['proxy-config']!.content;
  return content.replaceAll('$$', '$'); // what Compose hands the container
}

function fromKubernetes(file: string): string {
  const docs = parseAllDocuments(readFileSync(new URL(file, examples), 'utf8')).map((d) => d.toJS() as { kind: string; data?: Record<string, string> });
  return docs.find((d) => d.kind === 'ConfigMap')!.data!['proxy.yaml']!;
}

const cases: Array<[string, string]> = [
  ['docker-compose.yaml', fromCompose('docker-compose.yaml')],
  ['docker-compose-replicas.yaml', fromCompose('docker-compose-replicas.yaml')],
  ['k8s-sidecar.yaml', fromKubernetes('k8s-sidecar.yaml')],
  ['k8s-replicas.yaml', fromKubernetes('k8s-replicas.yaml')],
];

for (const [name, text] of cases) {
  t.test(name, async (t) => {
    const file = join(dir, `${name}.proxy.yaml`);
    writeFileSync(file, text);
    const { config, problems } = loadConfig({ file, env: name.includes('replicas') ? replicaEnv : env });
    t.same(problems, [], 'no problems');
    t.ok(config?.backends.length, 'has backends');
    if (name.includes('replicas')) {
      t.equal(config?.store.kind, 'redis', 'a shared store');
      t.equal(config?.server.advertiseUrl, 'http://10.0.0.7:8080', 'each replica advertises itself');
      t.ok(config?.signing?.keyFile, 'one signing key for all replicas');
    }
  });
}

t.test('an issuer that is not a URL is a clear problem, not a crash', async (t) => {
  const { config, problems } = loadConfig({ doc: { oidc: { issuer: 'not a url', clientId: 'x', clientSecret: 'y' }, session: { keys: [env.SESSION_KEY] } }, env: {} });
  t.equal(config, undefined);
  t.match(problems.join('\n'), /oidc\.issuer/);
});
