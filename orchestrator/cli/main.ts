#!/usr/bin/env node
/**
 * The command line: `code-runtime [flags] <file.ts | ->` runs one script and streams what it prints
 * live; `--json` prints only the RunResult, as one line. With no arguments at all it runs the Actor
 * entry (how `apify run` starts an Actor). A thin adapter: every rule lives in the library.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runCode } from '../run/run.js';
import { isScriptName, LIMITS } from '../run/options.js';

const USAGE = `Usage: code-runtime [--timeout SECS] [--memory MB] [--max-output BYTES] [--json] <file.ts | ->

Runs one TypeScript/JavaScript file in the code-runtime sandbox ("-" reads the script from stdin).
  --timeout SECS       wall-clock limit, ${LIMITS.timeoutSecs.min}–${LIMITS.timeoutSecs.max} (default ${LIMITS.timeoutSecs.default})
  --memory MB          memory limit, ${LIMITS.memoryMbytes.min}–${LIMITS.memoryMbytes.max} (default ${LIMITS.memoryMbytes.default})
  --max-output BYTES   bytes kept per stream in the result (default ${LIMITS.maxOutputBytes.default})
  --json               print only the result, as one line of JSON, instead of streaming the output
Exit code: 0 when the script succeeded, else the result's exitCode (124 timed out, 137 out of memory).
With no arguments, runs the Apify Actor entry instead.`;

/** A mistake in how the CLI was called: one line on stderr, exit code 2. */
export class UsageError extends Error {}

const ACTOR_ENTRY = '../actor/main.js';

const FLAGS = { timeout: 'timeoutSecs', memory: 'memoryMbytes', 'max-output': 'maxOutputBytes' } as const;

function numberFlag(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(raw.trim())) throw new UsageError(`--${flag} expects a number, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

async function readScript(file: string): Promise<string> {
  let code: string;
  try {
    code = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file'
      : (error as NodeJS.ErrnoException).code === 'EISDIR' ? 'it is a directory'
      : (error as Error).message;
    throw new UsageError(`cannot read ${file}: ${reason}`);
  }
  if (code.trim().length === 0) throw new UsageError(`${file === '-' ? 'the script on stdin' : file} is empty`);
  return code;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The script's own file name for stack traces, when it is a plain enough name. */
function scriptNameOf(file: string): string {
  const base = path.basename(file);
  return file !== '-' && isScriptName(base) ? base : 'script.ts';
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0) {
    // Loaded only here, so the script runner never pays for the Apify SDK.
    const actor: { main(): Promise<void> } = await import(ACTOR_ENTRY);
    await actor.main();
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  }
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        timeout: { type: 'string' }, memory: { type: 'string' }, 'max-output': { type: 'string' },
        json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!.replace(/\. To specify.*$/, ''));
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'no script given: name a file, or - for stdin' : `one script at a time, got ${positionals.length}: ${positionals.join(' ')}`);
  }
  const file = positionals[0]!;
  const code = await readScript(file);
  const json = values.json === true;
  let result;
  try {
    result = await runCode({
      code,
      scriptName: scriptNameOf(file),
      timeoutSecs: numberFlag('timeout', values.timeout),
      memoryMbytes: numberFlag('memory', values.memory),
      maxOutputBytes: numberFlag('max-output', values['max-output']),
      // Writes to pipes, files and terminals are synchronous on Linux, which paces a flood.
      onOutput: json ? undefined : (stream, chunk) => (stream === 'stdout' ? process.stdout : process.stderr).write(chunk),
    });
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    let message = error.message;
    for (const [flag, option] of Object.entries(FLAGS)) message = message.replace(`the \`${option}\` option`, `--${flag}`);
    throw new UsageError(message);
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else if (result.status !== 'SUCCEEDED') {
    process.stderr.write(`[code-runtime] ${result.status}: ${result.statusMessage}\n`);
  }
  return result.exitCode;
}
