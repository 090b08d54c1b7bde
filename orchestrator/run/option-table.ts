/**
 * The run options, defined once: name, type, range, default, description, CLI flag and whether the
 * Actor takes it as input. This table drives the library's validation (`options.ts`), the Actor's
 * input checks, the CLI's flags and `--help`, the check of `.actor/input_schema.json`, and (through
 * `optionJsonSchema`) any JSON Schema a front door publishes. Pure data and pure functions.
 */
import type { RunOptions } from '../../types/options.js';

interface Common {
  readonly description: string;
  /** Also an Apify Actor input field (`.actor/input_schema.json`). */
  readonly actorInput: boolean;
}

export interface NumberOption extends Common {
  readonly type: 'number' | 'integer';
  readonly min: number;
  readonly max: number;
  /** Unset means this value; without one, unset means no limit. */
  readonly default?: number;
  /** The CLI flag (`--<flag> <placeholder>`), when the CLI offers it. */
  readonly flag?: { readonly name: string; readonly placeholder: string };
  /** The Actor input's type when it is narrower than the library's: the platform counts whole seconds. */
  readonly actorType?: 'integer';
}

export interface StringOption extends Common {
  readonly type: 'string';
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly default?: string;
}

/** Options that only exist in-process (a callback, a signal, functions): no JSON form, no flag, no Actor field. */
export interface InProcessOption extends Common {
  readonly type: 'function' | 'AbortSignal' | 'host tools';
  readonly actorInput: false;
}

/** An option given as a JSON object (checked by its own module, e.g. `../config/`). */
export interface ObjectOption extends Common {
  readonly type: 'object';
}

export type OptionSpec = NumberOption | StringOption | InProcessOption | ObjectOption;
export type OptionName = keyof RunOptions;

/** Every option of `RunOptions`, in the order messages list them. */
export const RUN_OPTIONS = {
  code: {
    type: 'string', minLength: 1, maxLength: 1_000_000, actorInput: true,
    description: 'The TypeScript or JavaScript source to run. Top-level `await` works; a global `apify` object calls the Apify API.',
  },
  timeoutSecs: {
    type: 'number', min: 1, max: 3600, default: 300, flag: { name: 'timeout', placeholder: 'SECS' },
    actorInput: true, actorType: 'integer',
    description: 'Wall-clock limit in seconds; when it is reached the script is killed and the status is TIMED-OUT.',
  },
  memoryMbytes: {
    type: 'integer', min: 16, max: 32_768, default: 256, flag: { name: 'memory', placeholder: 'MB' }, actorInput: true,
    description: 'Memory limit in megabytes (the V8 heap, and the process as a whole); going over it ends the script with OUT-OF-MEMORY.',
  },
  maxOutputBytes: {
    type: 'integer', min: 4096, max: 1024 ** 3, default: 8 * 1024 ** 2, flag: { name: 'max-output', placeholder: 'BYTES' },
    actorInput: false,
    description: 'Bytes of stdout and of stderr kept in the result (head and tail); the rest is cut.',
  },
  scriptName: {
    type: 'string', pattern: '^(?!.*\\.\\.)[\\w.@+-][\\w .@+-]{0,199}$', default: 'script.ts', actorInput: false,
    description: 'The file name stack traces show for the script: 1–200 letters, digits, spaces or `._@+-`, no path.',
  },
  onOutput: {
    type: 'function', actorInput: false,
    description: 'Receives every chunk the script prints, as it prints it, uncapped.',
  },
  signal: {
    type: 'AbortSignal', actorInput: false,
    description: 'Aborting kills the script; the status is then ABORTED.',
  },
  token: {
    type: 'string', minLength: 1, actorInput: false,
    description: 'Apify API token for the `apify` binding (never enters the sandbox). Default: APIFY_TOKEN.',
  },
  apiBaseUrl: {
    type: 'string', actorInput: false,
    description: 'Apify API base URL, an http(s) origin. Default: APIFY_API_BASE_URL, else https://api.apify.com.',
  },
  maxActorRuns: {
    type: 'integer', min: 0, max: 1_000_000, flag: { name: 'max-actor-runs', placeholder: 'N' }, actorInput: true,
    description: 'How many Actor runs the script may start through `apify`. Default: no limit.',
  },
  maxTotalChargeUsd: {
    type: 'number', min: 0, max: 1_000_000, flag: { name: 'max-total-charge-usd', placeholder: 'USD' }, actorInput: true,
    description: 'Budget in USD across all Actor runs the script starts. Default: no limit.',
  },
  defaultTimeoutSecs: {
    type: 'integer', min: 1, max: 7 * 24 * 3600, flag: { name: 'default-timeout', placeholder: 'SECS' }, actorInput: true,
    description: 'Timeout in seconds for Actor runs the script starts without one. Default: each Actor\'s own.',
  },
  mcpServers: {
    type: 'object', actorInput: true,
    description: 'Upstream MCP servers (the `mcpServers` format of MCP clients: stdio `command` or Streamable HTTP `url`) whose tools the script calls as `tools.NAME.TOOL(args)`.',
  },
  tools: {
    type: 'host tools', actorInput: false,
    description: 'The embedder\'s own functions, called by the script as `tools.NAMESPACE.TOOL(args)`.',
  },
  maxToolCalls: {
    type: 'integer', min: 0, max: 1_000_000, default: 1000, flag: { name: 'max-tool-calls', placeholder: 'N' }, actorInput: true,
    description: 'How many tool calls the script may make through `tools`.',
  },
  toolTimeoutSecs: {
    type: 'number', min: 1, max: 3600, default: 60, flag: { name: 'tool-timeout', placeholder: 'SECS' }, actorInput: true, actorType: 'integer',
    description: 'How long one tool call may take, in seconds (never past the script\'s own timeout); it is then cancelled upstream and throws in the script.',
  },
  egress: {
    // The Actor takes it as two fields (origins, and their headers as secret input): actor/input.ts.
    type: 'object', actorInput: false,
    description: 'Origins the script\'s `fetch` may reach through the relay, with headers added on the way out that the script never sees: `{ "https://api.github.com": { "headers": { "Authorization": "Bearer ${GITHUB_TOKEN}" } } }`.',
  },
  files: {
    type: 'object', actorInput: true,
    description: 'Input files the script reads with `files.read(name)`: name → text (or bytes); see docs/files.md.',
  },
  maxFilesOut: {
    type: 'integer', min: 0, max: 10_000, default: 100, flag: { name: 'max-files-out', placeholder: 'N' }, actorInput: false,
    description: 'How many files the script may write with `files.write`.',
  },
  maxFileBytes: {
    type: 'integer', min: 1, max: 1024 ** 3, default: 10 * 1024 ** 2, flag: { name: 'max-file-bytes', placeholder: 'BYTES' }, actorInput: false,
    description: 'Bytes of one file, input or output.',
  },
  maxFilesInBytes: {
    type: 'integer', min: 0, max: 1024 ** 3, default: 64 * 1024 ** 2, flag: { name: 'max-files-in-bytes', placeholder: 'BYTES' }, actorInput: false,
    description: 'Bytes of all input files together.',
  },
  maxFilesOutBytes: {
    type: 'integer', min: 0, max: 1024 ** 3, default: 64 * 1024 ** 2, flag: { name: 'max-files-out-bytes', placeholder: 'BYTES' }, actorInput: false,
    description: 'Bytes of all files the script writes together.',
  },
} as const satisfies Record<OptionName, OptionSpec>;

export const OPTION_NAMES = Object.keys(RUN_OPTIONS) as OptionName[];

type NumberName = { [K in OptionName]: (typeof RUN_OPTIONS)[K] extends NumberOption ? K : never }[OptionName];

/** The numeric options, for loops over ranges (CLI flags, Actor fields). */
export const NUMBER_OPTIONS = OPTION_NAMES.filter(
  (name): name is NumberName => RUN_OPTIONS[name].type === 'number' || RUN_OPTIONS[name].type === 'integer',
);

/** The Actor's input fields, in the input schema's order. */
export const ACTOR_INPUT_FIELDS = OPTION_NAMES.filter((name) => RUN_OPTIONS[name].actorInput);

const grouped = (value: number) => value.toLocaleString('en-US');

/** What a numeric option allows, as messages say it: `an integer from 16 to 32,768`. */
export function allowedNumber(spec: Pick<NumberOption, 'min' | 'max'>, integer: boolean): string {
  return `${integer ? 'an integer' : 'a number'} from ${grouped(spec.min)} to ${grouped(spec.max)}`;
}

/** Whether `value` is a finite number (an integer when asked) within the range. */
export function inRange(value: unknown, spec: Pick<NumberOption, 'min' | 'max'>, integer: boolean): value is number {
  return typeof value === 'number' && Number.isFinite(value) && (!integer || Number.isInteger(value))
    && value >= spec.min && value <= spec.max;
}

/** What `code` allows, as messages say it. */
export const CODE_ALLOWED = `a non-empty string of at most ${grouped(RUN_OPTIONS.code.maxLength)} characters`;

/** The JSON Schema of one option (none for in-process options such as `onOutput`). */
export interface OptionJsonSchema {
  type: 'string' | 'number' | 'integer';
  description: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  default?: string | number;
}

/** One option as JSON Schema, for front doors that publish schemas (MCP tools, OpenAPI, zod). */
export function optionJsonSchema(name: OptionName): OptionJsonSchema | undefined {
  const spec: OptionSpec = RUN_OPTIONS[name];
  if (spec.type === 'string') {
    const { type, description, minLength, maxLength, pattern } = spec;
    return withDefault({ type, description, minLength, maxLength, pattern }, spec.default);
  }
  if (spec.type === 'number' || spec.type === 'integer') {
    const { type, description, min: minimum, max: maximum } = spec;
    return withDefault({ type, description, minimum, maximum }, spec.default);
  }
  return undefined;
}

/** The schema without keys whose value is unset, plus the default when there is one. */
function withDefault(schema: OptionJsonSchema, value: string | number | undefined): OptionJsonSchema {
  const defined = Object.fromEntries(Object.entries(schema).filter(([, v]) => v !== undefined)) as OptionJsonSchema;
  return value === undefined ? defined : { ...defined, default: value };
}
