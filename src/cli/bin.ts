#!/usr/bin/env node
// Executable entry point of the `bpfkit` command.

import { main } from './main.js';

// `bpfkit verify ... | head`: the reader went away. End quietly as Unix tools do (exit 0, as
// SIGPIPE's default would end us silently), instead of an EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // Not a bpfkit error: a bug. Show everything.
    process.stderr.write(`bpfkit: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 70;
  },
);
