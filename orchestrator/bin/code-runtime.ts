#!/usr/bin/env node
/**
 * The `code-runtime` command (the package's bin, and `npm start`). Only wiring: the CLI lives in
 * `../cli/`. A usage mistake exits 2 with one line; an infrastructure failure exits 70.
 */
import { main, UsageError } from '../cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`code-runtime: ${(error as Error).message}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 70;
  },
);
