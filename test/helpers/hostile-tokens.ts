/**
 * Shared pieces of the hostile-input tests (test/security/): loopback servers that count
 * what reaches them, hand-made JWTs (unsigned, HMAC) that jose refuses to build, and the
 * parts of a Bearer challenge.
 */
import { createHmac, KeyObject, sign } from 'node:crypto';
import type { CryptoKey } from 'jose';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type RequestListener,
  type ServerResponse,
} from 'node:http';
import { createServer as createNetServer, type Server } from 'node:net';

const b64json = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A JWT with `alg: none` and an empty signature. */
export function unsignedJwt(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  return `${b64json({ ...header, alg: 'none' })}.${b64json(claims)}.`;
}

/** A JWT MACed with HS256 under `secret` (e.g. the bytes of a public key: the HS/RS-ES confusion). */
export function hmacJwt(
  secret: string | Buffer,
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
): string {
  const input = `${b64json({ ...header, alg: 'HS256' })}.${b64json(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/**
 * A JWT signed with ES256 as given, header and all (jose refuses
 * to sign headers it would not accept, e.g. an unknown `crit`).
 */
export function es256Jwt(
  privateKey: CryptoKey,
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
): string {
  const input = `${b64json({ ...header, alg: 'ES256' })}.${b64json(claims)}`;
  const signature = sign('sha256', Buffer.from(input), { key: KeyObject.from(privateKey), dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** The parameters of a `WWW-Authenticate: Bearer k="v", …` header, or undefined when it is not Bearer. */
export function bearerParams(header: string | null): Record<string, string> | undefined {
  if (!header?.startsWith('Bearer ')) return undefined;
  return Object.fromEntries([...header.slice(7).matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

const listen = async <S extends Server | ReturnType<typeof createHttpServer>>(
  server: S,
  host: string,
): Promise<number> => {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return (server.address() as { port: number }).port;
};

export interface CountingHttpServer {
  url: string;
  port: number;
  /** Requests received so far (every method, every path). */
  readonly requests: number;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 that counts every request it gets and answers with `handler`. */
export async function countingHttpServer(
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<CountingHttpServer> {
  let requests = 0;
  const listener: RequestListener = (req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString()));
  };
  const server = createHttpServer(listener);
  const port = await listen(server, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface ConnectionCounter {
  port: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/** A TCP listener that only counts connections (and closes them): proof that nothing connected. */
export async function connectionCounter(host = '127.0.0.1', port = 0): Promise<ConnectionCounter> {
  let connections = 0;
  const server = createNetServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    get connections() {
      return connections;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
