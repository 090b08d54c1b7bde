/**
 * The server's request schemas, once, in zod: the MCP tools declare them as input schemas, the REST
 * routes validate with them, and the OpenAPI document is generated from them. Bounds come from the
 * option table (`../run/option-table.ts`), so a value the server accepts is one a run accepts. Every message names the
 * argument, the value (never a secret) and what is allowed.
 */
import * as z from 'zod';
import { describe } from '../run/options.js';
import { allowedNumber, CODE_ALLOWED, RUN_OPTIONS, type NumberOption } from '../run/option-table.js';
import { PAGE_DEFAULTS } from './stream.js';

/** Seconds a call may wait for a script to end. `run_code` waits by default (a model pays a turn per poll); REST and get_execution answer at once. */
export const WAIT_LIMITS = { min: 0, max: 50, toolDefault: 30, default: 0 } as const;
/** Characters an MCP answer may hold (`maxAnswerChars`). */
export const ANSWER_LIMITS = { min: 1000, max: 100_000, default: 10_000 } as const;
const PAGE_LIMITS = { lineLimitMax: 10_000, byteLimitMax: PAGE_DEFAULTS.maxByteLimit } as const;

type Range = { readonly min: number; readonly max: number };

/** One message shape for every rejected value. */
function rejected(name: string, allowed: string) {
  return (issue: { input?: unknown }) => `Expected \`${name}\` to be ${allowed}, got ${issue.input === undefined ? 'nothing' : describe(issue.input)}`;
}

function bounded(name: string, range: Range, integer: boolean, description: string) {
  const error = rejected(name, allowedNumber(range, integer));
  const base = z.number({ error });
  const checked = (integer ? base.int({ error }) : base).min(range.min, { error }).max(range.max, { error });
  return checked.optional().describe(description);
}

/** A numeric run option as the option table defines it. */
function fromTable(name: 'timeoutSecs' | 'memoryMbytes' | 'maxActorRuns' | 'maxTotalChargeUsd' | 'defaultTimeoutSecs') {
  const spec: NumberOption = RUN_OPTIONS[name];
  const fallback = spec.default === undefined ? '' : ` Default ${spec.default}.`;
  return bounded(name, spec, spec.type === 'integer', `${spec.description}${fallback}`);
}

const CODE = RUN_OPTIONS.code;
const code = z.string({ error: rejected('code', CODE_ALLOWED) })
  .min(CODE.minLength, { error: rejected('code', CODE_ALLOWED) })
  .max(CODE.maxLength, { error: (issue) => `Expected \`code\` to be ${CODE_ALLOWED}, got ${(issue.input as string).length.toLocaleString('en-US')} characters` })
  .describe(CODE.description);

const FILES_ALLOWED = 'an object of file name → { text } or { base64 }';
const jsonFile = z.strictObject({ text: z.string().optional(), base64: z.string().optional() }, { error: rejected('each of `files`', '{ text } or { base64 }') })
  .refine((file) => (file.text === undefined) !== (file.base64 === undefined), { error: 'Expected each of `files` to be { text } or { base64 }, one of the two' });
const files = z.record(z.string(), jsonFile, { error: rejected('files', FILES_ALLOWED) }).optional()
  .describe('Input files for files.read(name): name → {text} or {base64}.');

/** The run options a caller of the server may set; the token, API URL and output cap are the server's own. */
const runOptionsShape = {
  code,
  timeoutSecs: fromTable('timeoutSecs'),
  memoryMbytes: fromTable('memoryMbytes'),
  scriptName: z.string().regex(new RegExp(RUN_OPTIONS.scriptName.pattern), { error: rejected('scriptName', 'a plain file name of 1–200 letters, digits, spaces or `._@+-`') })
    .optional().describe(RUN_OPTIONS.scriptName.description),
  maxActorRuns: fromTable('maxActorRuns'),
  maxTotalChargeUsd: fromTable('maxTotalChargeUsd'),
  defaultTimeoutSecs: fromTable('defaultTimeoutSecs'),
  files,
};

/** Unknown keys fail naming the key only (a `token` someone pasted is never echoed). */
function strict<T extends z.ZodRawShape>(shape: T, what: string) {
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        const key = String(issue.keys[0]);
        if (/token|apiBaseUrl/i.test(key)) return `\`${key}\` is not accepted: scripts act with the server's own Apify token and API`;
        return `Unknown ${what} \`${key}\`; allowed: ${Object.keys(shape).join(', ')}`;
      }
      return `Expected ${what}s as a JSON object, got ${describe(issue.input)}`;
    },
  });
}

export const runOptionsSchema = strict(runOptionsShape, 'option');
export type ServerRunOptions = z.infer<typeof runOptionsSchema>;

/** An option's description cut to its first clause, for a tool's input schema (a model pays for every word). */
function brief(description: string, fallback: number | string | undefined): string {
  const [what] = description.split(' Default: ');
  const clause = what!.replace(/\.?\s*[;(:].*$/s, '').replace(/\.$/, '');
  return fallback === undefined ? clause : `${clause}; default ${fallback}`;
}

/** The run options as a model sees them: the same checks, briefer words. */
const runToolOptions = Object.fromEntries(Object.entries(runOptionsShape).map(([name, schema]) => {
  const spec = RUN_OPTIONS[name as keyof typeof runOptionsShape];
  return [name, schema.describe(brief(spec.description, name === 'scriptName' ? undefined : (spec as { default?: number }).default))];
})) as typeof runOptionsShape;

const waitSecs = bounded('waitSecs', WAIT_LIMITS, false, `Seconds to wait for the end before answering; default ${WAIT_LIMITS.toolDefault}`);
const maxAnswerChars = bounded('maxAnswerChars', ANSWER_LIMITS, true, `Answer size; longer output is cut; default ${ANSWER_LIMITS.default}`);

const executionId = z.string({ error: rejected('executionId', 'the id a run returned') }).min(1).max(200, { error: rejected('executionId', 'the id a run returned') })
  .describe('From run_code');

const runToolShape = { ...runToolOptions, waitSecs, maxAnswerChars };
export const runToolSchema = strict(runToolShape, 'argument');

const getExecutionShape = { executionId, waitSecs: waitSecs.describe(`Seconds to wait for the end; default ${WAIT_LIMITS.default}`), maxAnswerChars };
export const getExecutionSchema = strict(getExecutionShape, 'argument');

const stream = z.enum(['stdout', 'stderr'], { error: rejected('stream', '"stdout" or "stderr"') });

export const pageShape = {
  lineOffset: bounded('lineOffset', { min: 1, max: Number.MAX_SAFE_INTEGER }, true, 'First line, from 1; default 1'),
  lineLimit: bounded('lineLimit', { min: 1, max: PAGE_LIMITS.lineLimitMax }, true, `Lines; default ${PAGE_DEFAULTS.lineLimit}`),
  byteOffset: bounded('byteOffset', { min: 0, max: Number.MAX_SAFE_INTEGER }, true, 'First byte, from 0; when given, pages by bytes'),
  byteLimit: bounded('byteLimit', { min: 1, max: PAGE_LIMITS.byteLimitMax }, true, `Bytes; default ${PAGE_DEFAULTS.byteLimit}`),
};
export const pageQuerySchema = strict(pageShape, 'query parameter');

const getOutputShape = { executionId, stream, ...pageShape };
export const getOutputSchema = strict(getOutputShape, 'argument');

const cancelShape = { executionId };
export const cancelSchema = strict(cancelShape, 'argument');

/** REST's `?wait=`: the same seconds, bounds and messages as the tools' `waitSecs`. */
export const waitQuerySchema = strict({ wait: bounded('wait', WAIT_LIMITS, false, `Seconds to wait for the script to end before answering (default ${WAIT_LIMITS.default}, at most ${WAIT_LIMITS.max}); the answer is 202 while it runs.`) }, 'query parameter');

/** The first problem of a failed parse, as one sentence. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'Invalid request';
  return issue.message;
}

/** Query strings are strings: digits become numbers so the schemas (and their messages) apply unchanged. */
export function queryValues(query: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(query).map(([key, value]) => [key, /^\d+(\.\d+)?$/.test(value) ? Number(value) : value]));
}
