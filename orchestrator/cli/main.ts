/**
 * The command line: `code-runtime [flags] <file.ts | ->` runs one script and streams what it prints
 * live; `--json` prints only the RunResult, as one line (files by name and size); `--file` and
 * `--files-out` carry files in and out (`files.ts`). `code-runtime <subcommand> ...` dispatches
 * to `commands.ts`; with no arguments at all it runs the Actor entry (how `apify run` starts an
 * Actor). A thin adapter: every rule lives in the library, every flag comes from the option table.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DataLimitError, runCode } from '../run/run.js';
import { RUN_OPTIONS } from '../run/option-table.js';
import { isScriptName } from '../run/options.js';
import { SUBCOMMANDS } from './commands.js';
import { listedFiles, readInputFiles, saveOutputFiles, unsavedNote } from './files.js';
import { HELP_COLUMN, missingValueMessage, RUN_FLAG_PARSE, RUN_FLAGS, runFlagHelp, runOptionsFromFlags, UsageError } from './flags.js';
import { OPERATOR_FLAG_PARSE, operatorFlagHelp, operatorOptions } from './operator-flags.js';

export { UsageError } from './flags.js';

const ACTOR_ENTRY = '../actor/main.js';

function usage(): string {
  const commands = Object.keys(SUBCOMMANDS);
  const flags = [...RUN_FLAGS.map(([, spec]) => `[--${spec.flag.name} ${spec.flag.placeholder}]`), '[--json]'].join(' ');
  return [
    `Usage: code-runtime ${flags} <file.ts | ->`,
    ...commands.map((name) => `       code-runtime ${name} [flags]   (code-runtime help ${name} lists them)`),
    '       code-runtime help [command] | --help | --version',
    '',
    'Runs one TypeScript/JavaScript file in the code-runtime sandbox ("-" reads the script from stdin).',
    ...runFlagHelp(),
    ...operatorFlagHelp(),
    `${'  --file NAME=PATH'.padEnd(HELP_COLUMN)}an input file the script reads with files.read(NAME) (repeatable; PATH alone: its base name)`,
    `${'  --files-out DIR'.padEnd(HELP_COLUMN)}save the files the script writes (files.write) in DIR, made when missing`,
    `${'  --json'.padEnd(HELP_COLUMN)}print only the result, as one line of JSON (files by name and size), instead of streaming the output`,
    `${'  --version'.padEnd(HELP_COLUMN)}print the version`,
    'Exit code: 0 when the script succeeded, else the result\'s exitCode (124 timed out, 137 out of memory);',
    '2 for a usage mistake; 141 when the reader of the output went away (| head), which stops the run.',
    'The `apify` object uses APIFY_TOKEN from the environment.',
    'With no arguments, runs the Apify Actor entry instead.',
  ].join('\n');
}

/** 128 + SIGPIPE: what a shell reports for a writer whose reader went away. */
const EXIT_BROKEN_PIPE = 141;

/** The package's version, from its package.json (three levels above this file in `dist/`). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
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

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...RUN_FLAG_PARSE,
        ...OPERATOR_FLAG_PARSE,
        json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' },
        file: { type: 'string', multiple: true }, 'files-out': { type: 'string' },
      },
    });
  } catch (error) {
    const message = (error as Error).message;
    throw new UsageError(missingValueMessage(message, argv) ?? unknownFlagMessage(message) ?? message.split('\n')[0]!.replace(/\. To specify.*$/, ''));
  }
}

/** `parseArgs`' message for a flag it does not know, said with the flags there are. */
function unknownFlagMessage(message: string): string | undefined {
  const unknown = /^Unknown option '([^']*)'/.exec(message);
  if (!unknown) return undefined;
  const flags = [...RUN_FLAGS.map(([, spec]) => `--${spec.flag.name}`), ...Object.keys(OPERATOR_FLAG_PARSE).map((name) => `--${name}`), '--file', '--files-out', '--json', '--help', '--version'];
  return `unknown flag ${unknown[1]}; the flags are ${flags.join(', ')} (see --help); a file whose name starts with - goes after --`;
}

/** Runs one script file with the given flags; returns the process's exit code. */
async function runScript(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const options = { ...runOptionsFromFlags(values), ...operatorOptions(values) };
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'no script given: name a file, or - for stdin' : `one script at a time, got ${positionals.length}: ${positionals.join(' ')}`);
  }
  const file = positionals[0]!;
  const code = await readScript(file);
  const json = values.json === true;
  const filesOut = values['files-out'];
  if (filesOut === '') throw new UsageError('--files-out needs a folder, e.g. --files-out out');
  const limits = { maxFileBytes: options.maxFileBytes ?? RUN_OPTIONS.maxFileBytes.default, maxFilesInBytes: options.maxFilesInBytes ?? RUN_OPTIONS.maxFilesInBytes.default };
  const inputFiles = values.file ? await readInputFiles(values.file, limits) : undefined;
  // Where our output goes can break (`| head` closes the pipe, a full disk): the run then has no
  // reader, so it is stopped, as a shell stops a writer with SIGPIPE, instead of an unhandled 'error'.
  const stop = new AbortController();
  let broken: NodeJS.ErrnoException | undefined;
  const onWriteError = (error: NodeJS.ErrnoException) => {
    broken ??= error;
    stop.abort();
  };
  process.stdout.on('error', onWriteError);
  process.stderr.on('error', onWriteError);
  let result;
  try {
    result = await runCode({
      ...options,
      code,
      ...(inputFiles ? { files: inputFiles } : {}),
      scriptName: scriptNameOf(file),
      signal: stop.signal,
      // Writes to pipes, files and terminals are synchronous on Linux, which paces a flood.
      onOutput: json ? undefined : (stream, chunk) => {
        if (!broken) (stream === 'stdout' ? process.stdout : process.stderr).write(chunk);
      },
    });
  } catch (error) {
    // The flags are checked above, so a TypeError here is about the script itself (e.g. its length).
    if (error instanceof TypeError) throw new UsageError(error.message);
    // Said with the flag the user typed, not the library's option name.
    if (error instanceof DataLimitError) error.message = error.as(`--${RUN_OPTIONS.memoryMbytes.flag.name}`);
    throw error;
  }
  if (broken) return writeFailed(broken);
  let saved: string[] | undefined;
  let saveError: string | undefined;
  try {
    if (filesOut !== undefined) saved = await saveOutputFiles(filesOut, result.files);
  } catch (error) {
    saveError = `[code-runtime] cannot save the script's files in ${filesOut}: ${(error as Error).message}\n`;
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...result, files: listedFiles(result.files, saved) })}\n`);
  } else {
    if (result.value !== undefined) process.stderr.write(valueLine(result.value));
    if (result.status !== 'SUCCEEDED') process.stderr.write(`[code-runtime] ${result.status}: ${result.statusMessage}\n`);
    if (filesOut === undefined && result.files.length > 0) process.stderr.write(unsavedNote(result.files));
  }
  if (saveError) {
    process.stderr.write(saveError);
    return result.exitCode === 0 ? 1 : result.exitCode;
  }
  return result.exitCode;
}

/** The value line after a streamed run (`--json` has it whole): compact JSON, cut when long. */
function valueLine(value: unknown): string {
  const text = JSON.stringify(value);
  const shown = text.length > VALUE_LINE_CHARS ? `${text.slice(0, VALUE_LINE_CHARS)}… (${text.length.toLocaleString('en-US')} characters; --json has all of it)` : text;
  return `[code-runtime] value: ${shown}\n`;
}

const VALUE_LINE_CHARS = 2000;

/** The exit code once our own output broke: 141 (SIGPIPE's) for a reader that went away, like any pipeline writer. */
function writeFailed(error: NodeJS.ErrnoException): number {
  if (error.code === 'EPIPE') return EXIT_BROKEN_PIPE;
  if (!process.stderr.destroyed) process.stderr.write(`code-runtime: cannot write the script's output: ${error.code ?? error.message}\n`);
  return 1;
}

/** `code-runtime help [command]`: the usage of the CLI, or of one subcommand, on stdout. */
async function help(argv: string[]): Promise<number> {
  const [name, ...more] = argv;
  if (name === undefined) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const subcommand = Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  if (!subcommand || more.length > 0) throw new UsageError(`help takes one command name, one of ${Object.keys(SUBCOMMANDS).join(', ')}; got ${argv.join(' ')}`);
  return (await subcommand()).main(['--help']);
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0) {
    // Loaded only here, so the script runner never pays for the Apify SDK.
    const actor: { main(): Promise<void> } = await import(ACTOR_ENTRY);
    await actor.main();
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  }
  if (argv[0] === 'help') return help(argv.slice(1));
  const subcommand = Object.hasOwn(SUBCOMMANDS, argv[0]!) ? SUBCOMMANDS[argv[0]!] : undefined;
  if (subcommand) return (await subcommand()).main(argv.slice(1));
  return runScript(argv);
}
