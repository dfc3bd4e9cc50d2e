#!/usr/bin/env node
// Executable entry point of the `bpfkit` command.

import { main } from './main.js';

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
