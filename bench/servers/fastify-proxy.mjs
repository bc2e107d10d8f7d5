// Baseline: a bare @fastify/http-proxy in front of a target, no auth, no logging.
// Usage: node fastify-proxy.mjs <upstream origin> [port]; prints `listening <port>`.
import Fastify from 'fastify';
import httpProxy from '@fastify/http-proxy';

const app = Fastify({ logger: false });
await app.register(httpProxy, { upstream: process.argv[2] });
await app.listen({ host: '127.0.0.1', port: Number(process.argv[3] ?? 0) });
console.log(`listening ${app.server.address().port}`);
process.on('SIGTERM', () => process.exit(0));
