/**
 * A stdio child's output read as it was written, whatever the pipe's chunks: a UTF-8
 * character split across two writes on stdout stays whole, and a stderr line written in two
 * pieces is logged (and kept for the exit report) as one line.
 */
import t from 'tap';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { StdioChild, childEnv } from '../../src/backends/stdio/child.js';

// Writes a JSON-RPC line whose `é` is cut between two writes, then a stderr line in two pieces,
// each second half only after the first has been flushed to the pipe and a moment has passed.
const SCRIPT =
  `
const line = Buffer.from(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', ` +
  `params: { data: 'café' } }) + '\\n');
const cut = line.indexOf(Buffer.from('é')) + 1;
const later = (f) => setTimeout(f, 50);
process.stdout.write(line.subarray(0, cut), () => later(() => process.stdout.write(line.subarray(cut), () =>
  process.stderr.write('first half, ', () => later(() => ` +
  `process.stderr.write('second half\\n', () => process.exit(0)))))));
`;

t.test('stdout and stderr are read by line, not by chunk', async (t) => {
  const lines: any[] = [];
  const logStream = new PassThrough();
  logStream.on('data', (c: Buffer) =>
    lines.push(
      ...c
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    ),
  );
  const child = new StdioChild({
    command: process.execPath,
    args: ['-e', SCRIPT],
    env: childEnv({}),
    log: pino(logStream) as never,
  });
  const messages: any[] = [];
  child.onmessage = (m) => messages.push(m);
  await new Promise<void>((r) => child.proc.once('close', () => r()));
  t.same(
    messages.map((m) => m.params.data),
    ['café'],
    'the message arrives once, its character whole',
  );
  t.same(child.stderrTail, ['first half, second half'], 'one stderr line');
  t.same(
    lines.filter((l) => l.event === 'stdio.stderr').map((l) => l.line),
    ['first half, second half'],
    'logged once, whole',
  );
});
