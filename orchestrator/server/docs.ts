/**
 * What an agent reads before writing a script (`get_code_docs` and the MCP resources), cut from the
 * files that say it for people too: docs/sandbox.md, docs/API.md, docs/recipes.md, docs/files.md
 * and types/apify.d.ts, read from the package on first use, so there is no second copy to drift. The
 * limits come from the option table. The overview (the default topic) stays small enough for a
 * model to read before every task (`OVERVIEW_MAX_CHARS`) and names the topics to ask for next.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RUN_OPTIONS } from '../run/option-table.js';
import { PACKAGE_ROOT } from '../run/deno.js';
import { WAIT_LIMITS } from './schemas.js';
import { DEFAULT_OUTPUT_CHARS } from './view.js';

/** The most the overview may hold (MCP issue budget: the first call must be cheap). */
export const OVERVIEW_MAX_CHARS = 6000;

export const DOC_TOPICS = ['overview', 'rules', 'files', 'actors', 'storage', 'errors', 'api', 'types', 'recipes', 'tools'] as const;
export type DocTopic = (typeof DOC_TOPICS)[number];
/** Topics cut from the package's files; `tools` is made per server (tool-docs.ts). */
type FileTopic = Exclude<DocTopic, 'tools'>;

/** One line per topic: the overview's list of what to ask next, and the resources' titles. */
export const TOPIC_TITLES: Record<DocTopic, string> = {
  overview: 'Start here: the rules, the limits, every `apify` method in one line, and the other topics',
  rules: 'What a script may and may not do, the limits, and how a run ends',
  files: 'Input and output files (`files.read`, `files.write`) and `export default` as the answer\'s value',
  actors: '`apify` for the Store, Actors and runs: options, results and examples; how lists page',
  storage: '`apify` for datasets and key-value stores: options, results and examples; how lists page',
  errors: 'What a failed call throws, what is retried, and the budget on Actor runs',
  api: 'The whole `apify` reference at once (actors, storage and errors together)',
  types: 'The TypeScript declarations of `apify`',
  recipes: 'Short scripts that show the usual shapes',
  tools: 'TypeScript declarations of the `tools` a script can call',
};

/** The files the topics are cut from, relative to the package root; each ships in the package. */
export const DOC_SOURCES = ['docs/sandbox.md', 'docs/API.md', 'docs/recipes.md', 'types/apify.d.ts', 'docs/files.md'] as const;

function read(relative: (typeof DOC_SOURCES)[number]): string {
  return readFileSync(path.join(PACKAGE_ROOT, relative), 'utf8');
}

/** A markdown file's `## ` sections by heading, each with its heading line. */
function sections(file: (typeof DOC_SOURCES)[number]): (heading: string) => string {
  const text = read(file);
  const found = new Map<string, string>();
  for (const part of text.split(/^(?=## )/m).slice(1)) found.set(part.slice(3, part.indexOf('\n')).trim(), part.trim());
  return (heading) => {
    const part = found.get(heading);
    if (part === undefined) throw new Error(`${file} has no "## ${heading}" section for get_code_docs`);
    return part;
  };
}

/** A section's body, without its heading line, and its links to other sections as plain text (the overview holds none of them). */
function body(section: string): string {
  return section.slice(section.indexOf('\n') + 1).trim().replace(/\[([^\]]+)\]\(#[^)]*\)/g, '$1');
}

function limits(): string {
  const { timeoutSecs: t, memoryMbytes: m, code: c } = RUN_OPTIONS;
  return [
    '## Limits\n',
    `- Code: up to ${c.maxLength.toLocaleString('en-US')} characters. \`timeoutSecs\` ${t.min}–${t.max} (default ${t.default}); \`memoryMbytes\` ${m.min}–${m.max} (default ${m.default}).`,
    `- \`run_code\` waits \`waitSecs\` (default ${WAIT_LIMITS.toolDefault}, at most ${WAIT_LIMITS.max}), then answers with an \`executionId\` while the script runs on: \`get_execution\` waits for its result.`,
    `- An answer shows about ${DEFAULT_OUTPUT_CHARS.toLocaleString('en-US')} characters of output (head and tail); \`get_output\` pages through all of it.`,
  ].join('\n');
}

/** API.md's method table as one line per method: signature and result, without links or endpoints. */
function methodLines(table: string): string {
  const rows = table.split('\n').filter((line) => line.startsWith('| [`'));
  if (rows.length === 0) throw new Error('docs/API.md\'s "## Methods" section has no method table for get_code_docs');
  return rows.map((row) => {
    const [method = '', , returns = ''] = row.slice(1, -1).split(' | ').map((cell) => cell.trim());
    return `- ${method.replace(/\[(`[^`]+`)\]\([^)]*\)/, '$1')} → ${returns}`;
  }).join('\n');
}

function build(): Record<FileTopic, string> {
  const sandbox = sections('docs/sandbox.md');
  const api = sections('docs/API.md');
  const files = sections('docs/files.md');
  const rules = `# Inside the code-runtime sandbox\n\n${sandbox('The rules')}\n\n${limits()}\n\n${sandbox('How a run ends')}`;
  const topics: Omit<Record<FileTopic, string>, 'overview'> = {
    rules,
    files: `# Files and values\n\n${files('In a script')}\n\n${files('Limits')}`,
    actors: `# \`apify\`: the Store, Actors and runs\n\n${api('Lists')}\n\n${api('Actors')}\n\n${api('Runs')}`,
    storage: `# \`apify\`: datasets and key-value stores\n\n${api('Lists')}\n\n${api('Datasets')}\n\n${api('Key-value stores')}`,
    errors: `# \`apify\`: errors and the budget\n\n${api('Errors')}\n\n${api('Budget')}`,
    api: read('docs/API.md'),
    types: `# types/apify.d.ts\n\n\`\`\`ts\n${read('types/apify.d.ts')}\n\`\`\``,
    recipes: read('docs/recipes.md'),
  };
  // Each with its size, so a model can tell what a call will cost before it makes it.
  const others = Object.entries(topics)
    .map(([topic, text]) => `- \`${topic}\` (${text.length.toLocaleString('en-US')} characters): ${TOPIC_TITLES[topic as DocTopic]}`)
    .concat(`- \`tools\`: ${TOPIC_TITLES.tools}`).join('\n');
  const overview = [
    '# code-runtime: what to know before writing a script',
    'A script runs once, in a fresh Deno sandbox, and you get back exactly what it printed. A global `apify` client, already authenticated, drives the Apify platform.',
    sandbox('The rules'),
    limits(),
    `## The \`apify\` client\n\n${body(api('Conventions'))}\n\nMethods (\`apify.<name>\`):\n${methodLines(api('Methods'))}`,
    `## Ask next\n\nCall \`get_code_docs\` with \`{ "topic": … }\`:\n${others}`,
  ].join('\n\n');
  return { overview, ...topics };
}

let cache: Record<FileTopic, string> | undefined;

/** The text of one topic (default: the overview). Throws, naming the file, when a source section is missing. */
export function codeDocs(topic: FileTopic = 'overview'): string {
  cache ??= build();
  return cache[topic];
}
