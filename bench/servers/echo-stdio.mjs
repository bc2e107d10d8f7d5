// Raw stdio MCP echo server: newline-delimited JSON-RPC on stdin/stdout, nothing else.
import { createInterface } from 'node:readline';
import { answer } from './echo-logic.mjs';

createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  const reply = answer(msg);
  if (reply) process.stdout.write(`${JSON.stringify(reply)}\n`);
});
process.stdin.on('end', () => process.exit(0));
