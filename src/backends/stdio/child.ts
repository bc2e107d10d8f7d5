/**
 * One stdio MCP server process: spawned with a minimal environment, newline-delimited
 * JSON-RPC on stdin/stdout, stderr kept (last lines) and logged, killed with SIGTERM then
 * SIGKILL. Bad output (non-JSON, over-long lines) is logged and dropped, never fatal.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { FastifyBaseLogger } from 'fastify';
import type { RpcMessage } from '../../mcp/jsonrpc.js';

/** Variables a child inherits from the proxy; nothing else of the proxy's environment (its secrets) leaks. */
const INHERITED_ENV = ['PATH', 'HOME', 'LOGNAME', 'USER', 'SHELL', 'TERM', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];
const MAX_LINE_BYTES = 16 * 1024 * 1024;
const STDERR_LINES = 20;
const KILL_GRACE_MS = 3000;

export interface ChildOptions {
  command: string;
  args: string[];
  cwd?: string;
  env: Record<string, string>;
  log: FastifyBaseLogger;
}

export function childEnv(
  configured: Record<string, string>,
  identity: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of INHERITED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  return { ...env, ...configured, ...identity };
}

export class StdioChild {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly stderrTail: string[] = [];
  exited = false;
  exitInfo?: { code: number | null; signal: NodeJS.Signals | null };
  onmessage?: (msg: RpcMessage) => void;
  onexit?: (info: { code: number | null; signal: NodeJS.Signals | null; error?: Error }) => void;
  private buffer = '';
  private stderrBuffer = '';
  private readonly log: FastifyBaseLogger;

  constructor(opts: ChildOptions) {
    this.log = opts.log;
    this.proc = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (chunk: string) => this.onStdout(chunk));
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (chunk: string) => this.onStderr(chunk));
    this.proc.stdin.on('error', () => undefined); // EPIPE after the child died: reported by 'exit'
    this.proc.once('error', (error) => this.finish(null, null, error));
    this.proc.once('exit', (code, signal) => this.finish(code, signal));
    this.proc.stderr.once('end', () => this.onStderr('\n')); // a last line without its newline
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  send(msg: RpcMessage): boolean {
    if (this.exited || !this.proc.stdin.writable) return false;
    this.proc.stdin.write(`${JSON.stringify(msg)}\n`);
    return true;
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
  async stop(graceMs = KILL_GRACE_MS): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.stdin.end();
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }

  private finish(code: number | null, signal: NodeJS.Signals | null, error?: Error) {
    if (this.exited) return;
    this.exited = true;
    this.exitInfo = { code, signal };
    if (this.stderrBuffer) this.onStderr('\n');
    this.onexit?.({ code, signal, error });
  }

  private onStdout(chunk: string) {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) !== -1) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      if (line.trim()) this.onLine(line);
    }
    if (this.buffer.length > MAX_LINE_BYTES) {
      this.log.error(
        { event: 'stdio.line_too_long', bytes: this.buffer.length },
        'stdio server wrote an over-long line: dropped',
      );
      this.buffer = '';
    }
  }

  private onLine(line: string) {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.log.warn(
        { event: 'stdio.bad_output', sample: line.slice(0, 200) },
        'stdio server wrote non-JSON to stdout: ignored',
      );
      return;
    }
    if (!msg || typeof msg !== 'object' || (msg as { jsonrpc?: unknown }).jsonrpc !== '2.0') {
      this.log.warn(
        { event: 'stdio.bad_output', sample: line.slice(0, 200) },
        'stdio server wrote a non-JSON-RPC message: ignored',
      );
      return;
    }
    this.onmessage?.(msg as RpcMessage);
  }

  /** Lines, not chunks: a line the child wrote in several writes (or that a pipe read split) is logged once. */
  private onStderr(chunk: string) {
    const lines = (this.stderrBuffer + chunk).split(/\r?\n/);
    this.stderrBuffer = lines.pop()!.slice(0, 64 * 1024);
    for (const line of lines) {
      if (!line.trim()) continue;
      this.stderrTail.push(line.slice(0, 1000));
      if (this.stderrTail.length > STDERR_LINES) this.stderrTail.shift();
      this.log.info({ event: 'stdio.stderr', line: line.slice(0, 1000) }, 'stdio server stderr');
    }
  }
}
