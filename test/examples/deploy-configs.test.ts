/**
 * The proxy configs inside the deployment examples (Compose files, Kubernetes manifests) are
 * real configs: each one loads without a problem, with the environment the example gives it.
 */
import t from 'tap';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/app/config.js';

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
  const content = (
    parse(readFileSync(new URL(file, examples), 'utf8')) as { configs: Record<string, { content: string }> }
  ).configs['proxy-config']!.content;
  return content.replaceAll('$$', '$'); // what Compose hands the container
}

function fromKubernetes(file: string): string {
  const docs = parseAllDocuments(readFileSync(new URL(file, examples), 'utf8')).map(
    (d) => d.toJS() as { kind: string; data?: Record<string, string> },
  );
  return docs.find((d) => d.kind === 'ConfigMap')!.data!['proxy.yaml']!;
}

const cases: Array<[string, string]> = [
  ['docker-compose.yml', fromCompose('docker-compose.yml')],
  ['docker-compose-replicas.yaml', fromCompose('docker-compose-replicas.yaml')],
  ['kubernetes/k8s-sidecar.yaml', fromKubernetes('kubernetes/k8s-sidecar.yaml')],
  ['kubernetes/k8s-replicas.yaml', fromKubernetes('kubernetes/k8s-replicas.yaml')],
];

for (const [name, text] of cases) {
  t.test(name, async (t) => {
    const file = join(dir, `${name.replace('/', '-')}.proxy.yaml`);
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
  const { config, problems } = loadConfig({
    doc: { oidc: { issuer: 'not a url', clientId: 'x', clientSecret: 'y' }, session: { keys: [env.SESSION_KEY] } },
    env: {},
  });
  t.equal(config, undefined);
  t.match(problems.join('\n'), /oidc\.issuer/);
});

t.test('docker-compose.yml: the proxy, a stdio server it runs and an HTTP server as a sidecar', async (t) => {
  const compose = parse(readFileSync(new URL('docker-compose.yml', examples), 'utf8')) as any;
  const { config } = loadConfig({ doc: parse(fromCompose('docker-compose.yml')), env });
  const stdio = config!.backends.find((b) => b.stdio)!;
  t.ok(stdio, 'a stdio backend');
  t.same(stdio.stdio!.args, ['examples/demo-stdio-server.mjs'], 'the demo stdio server, run by the proxy');
  t.ok(existsSync(new URL(`../../${stdio.stdio!.args[0]}`, import.meta.url)), 'which the image ships');
  const http = config!.backends.find((b) => b.http)!;
  t.equal(new URL(http.http!.url).hostname, '127.0.0.1', 'the HTTP server on the shared localhost');
  const sidecar = compose.services['mcp-server'];
  t.equal(sidecar.network_mode, 'service:proxy', "the HTTP server joins the proxy's network namespace");
  t.match(sidecar.entrypoint.join(' '), /examples\/demo-http-server\.mjs/);
  t.equal(sidecar.ports, undefined, 'and publishes nothing');
  t.ok(compose.services.proxy.ports.length, 'only the proxy publishes a port');
  t.notOk(existsSync(new URL('docker-compose.yaml', examples)), 'one Compose file, .yml');
});

t.test('kubernetes/k8s-sidecar.yaml: probes, the Secret, a NetworkPolicy, a loopback MCP server', async (t) => {
  const docs = parseAllDocuments(readFileSync(new URL('kubernetes/k8s-sidecar.yaml', examples), 'utf8')).map(
    (d) => d.toJS() as any,
  );
  const kind = (k: string) => docs.filter((d) => d.kind === k);
  const deployment = kind('Deployment')[0];
  const pod = deployment.spec.template.spec;
  const proxy = pod.containers.find((c: any) => c.name === 'mcp-oidc-proxy');
  const server = pod.containers.find((c: any) => c.name !== 'mcp-oidc-proxy');
  t.equal(proxy.readinessProbe.httpGet.path, '/readyz');
  t.equal(proxy.livenessProbe.httpGet.path, '/healthz');
  const secret = kind('Secret')[0];
  t.ok(secret, 'a Secret');
  t.ok(
    secret.stringData['session-key'] && secret.stringData['oidc-client-secret'],
    'holding the session key and the client secret',
  );
  const keysRef = proxy.env.find((e: any) => e.name === 'MCP_PROXY_SESSION_KEYS').valueFrom.secretKeyRef;
  t.same(keysRef, { name: secret.metadata.name, key: 'session-key' }, 'session keys from the Secret');
  const volume = pod.volumes.find((v: any) => v.secret);
  t.equal(volume.secret.secretName, secret.metadata.name);
  t.ok(
    volume.secret.items.some((i: any) => i.key === 'oidc-client-secret'),
    'the client secret as a file',
  );
  t.ok(proxy.env.some((e: any) => e.name === 'OIDC_CLIENT_SECRET_FILE'));
  t.match(server.args.join(' '), /--host 127\.0\.0\.1/, 'the MCP server binds loopback');
  const policy = kind('NetworkPolicy')[0];
  t.ok(policy, 'a NetworkPolicy');
  t.same(policy.spec.podSelector.matchLabels, deployment.spec.template.metadata.labels, 'for these Pods');
  t.same(policy.spec.policyTypes, ['Ingress']);
  const ports = policy.spec.ingress.flatMap((r: any) => r.ports.map((p: any) => p.port));
  t.same(ports, [proxy.ports[0].containerPort], 'ingress to the proxy port only');
  const service = kind('Service')[0];
  t.same(
    service.spec.ports.map((p: any) => p.targetPort),
    ['http'],
    'the Service exposes only the proxy',
  );
  // The placeholder Secret fails closed: the proxy refuses to start with it.
  const { problems } = loadConfig({
    doc: parse(fromKubernetes('kubernetes/k8s-sidecar.yaml')),
    env: { ...env, MCP_PROXY_SESSION_KEYS: secret.stringData['session-key'] },
  });
  t.ok(problems.length, 'placeholder session key refused');
});
