/**
 * The CLI's run flags, from the run option table: one `--flag VALUE` per numeric option that has a
 * flag name, its `--help` line, and the check of its value. A bad value names the flag, the value
 * and what is allowed, before anything runs.
 */
import { allowedNumber, inRange, NUMBER_OPTIONS, RUN_OPTIONS, type NumberOption } from '../run/option-table.js';
import type { RunOptions } from '../../types/options.js';

/** A mistake in how the CLI was called: one line on stderr, exit code 2. */
export class UsageError extends Error {}

type Flagged = NumberOption & { readonly flag: NonNullable<NumberOption['flag']> };

/** Option name → its spec, for every option the CLI takes as a flag, in the table's order. */
export const RUN_FLAGS = NUMBER_OPTIONS.flatMap((name) => {
  const spec: NumberOption = RUN_OPTIONS[name];
  return spec.flag ? [[name, spec as Flagged] as const] : [];
});

/** `parseArgs` option definitions for the run flags. */
export const RUN_FLAG_PARSE = Object.fromEntries(RUN_FLAGS.map(([, spec]) => [spec.flag.name, { type: 'string' as const }]));

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

function allowed(spec: Flagged): string {
  return allowedNumber(spec, spec.type === 'integer');
}

/**
 * The value of a numeric `--<flag>` within `range`: the one check, and the one message (`--flag
 * expects <range>, got "<value>"`), for every numeric flag of every command.
 */
export function numericFlag(flag: string, raw: string, range: { min: number; max: number }, integer: boolean, hint = ''): number {
  const value = NUMERIC.test(raw.trim()) ? Number(raw) : undefined;
  if (!inRange(value, range, integer)) throw new UsageError(`--${flag} expects ${allowedNumber(range, integer)}, got ${JSON.stringify(raw)}${hint}`);
  return value;
}

/** The value of `--<flag>`, checked against the option's range; a file name where a number belongs gets a hint. */
export function flagValue(spec: Flagged, raw: string): number {
  const forgot = !NUMERIC.test(raw.trim()) && /[./\\]|^-$/.test(raw);
  const hint = forgot ? ` (did you forget the value? e.g. --${spec.flag.name} ${spec.default ?? spec.min} file.ts)` : '';
  return numericFlag(spec.flag.name, raw, spec, spec.type === 'integer', hint);
}

/** The run options the given flag values set (unset flags are left out, so defaults apply). */
export function runOptionsFromFlags(values: Record<string, unknown>): Partial<RunOptions> {
  const options: Record<string, number> = {};
  for (const [name, spec] of RUN_FLAGS) {
    const raw = values[spec.flag.name];
    if (typeof raw === 'string') options[name] = flagValue(spec, raw);
  }
  return options as Partial<RunOptions>;
}

/**
 * `parseArgs`' own message for a flag whose value is missing (`--timeout` last, or followed by
 * another flag or a negative number), said as ours: the flag, the value and what is allowed.
 */
export function missingValueMessage(message: string, argv: readonly string[]): string | undefined {
  const flag = /^Option '--([\w-]+)(?: <value>)?' argument (missing|is ambiguous)/.exec(message);
  const entry = RUN_FLAGS.find(([, spec]) => spec.flag.name === flag?.[1]);
  if (!flag || !entry) return undefined;
  const spec = entry[1];
  const next = argv[argv.indexOf(`--${spec.flag.name}`) + 1] ?? '';
  if (flag[2] === 'missing' || next.startsWith('--')) {
    return `--${spec.flag.name} needs a value: ${allowed(spec)}, e.g. --${spec.flag.name} ${spec.default ?? spec.min} file.ts`;
  }
  return `--${spec.flag.name} expects ${allowed(spec)}, got ${JSON.stringify(next)}`;
}

/** The `--help` lines of the run flags, with ranges and defaults from the table. */
export function runFlagHelp(): string[] {
  return RUN_FLAGS.map(([, spec]) => {
    const head = `  --${spec.flag.name} ${spec.flag.placeholder}`.padEnd(HELP_COLUMN);
    const range = `${spec.min.toLocaleString('en-US')}–${spec.max.toLocaleString('en-US')}`;
    const [what, unset] = spec.description.split(' Default: ');
    const fallback = spec.default !== undefined ? `default ${spec.default.toLocaleString('en-US')}` : `default: ${unset!.replace(/\.$/, '')}`;
    return `${head}${what!.replace(/[;(].*$/, '').trim().replace(/\.$/, '')} (${range}; ${fallback})`;
  });
}

/** Where `--help` starts the explanation of each flag. */
export const HELP_COLUMN = 30;
