import type { Server } from 'node:http';
export function createEchoServer(): Server;
