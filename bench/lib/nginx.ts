/** nginx baseline: one worker, no auth, keep-alive upstream; installed from Debian when missing. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, type Started } from './procs.js';

function nginxBinary(): string {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (existsSync(p)) return p;
  if (process.getuid?.() !== 0)
    throw new Error('nginx is not installed and this is not root: apt-get install nginx-light');
  process.stderr.write('bench: installing nginx-light from Debian\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'nginx-light'], { stdio: 'inherit', env });
  // The package may start its own service on :80; the bench runs its own instance.
  try {
    execFileSync('/usr/sbin/nginx', ['-s', 'stop'], { stdio: 'ignore' });
  } catch {
    /* not running */
  }
  return '/usr/sbin/nginx';
}

export async function startNginx(dir: string, port: number, upstreamPort: number): Promise<Started> {
  const bin = nginxBinary();
  const root = join(dir, 'nginx');
  mkdirSync(root, { recursive: true });
  const conf = join(root, 'nginx.conf');
  const tmp = (n: string) => `${n}_temp_path ${join(root, n)};`;
  writeFileSync(
    conf,
    `
daemon off;
master_process off;
worker_processes 1;
pid ${join(root, 'nginx.pid')};
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(tmp).join('\n  ')}
  upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`,
  );
  const s = await start(bin, ['-c', conf, '-p', root], { label: 'nginx' });
  return s;
}
