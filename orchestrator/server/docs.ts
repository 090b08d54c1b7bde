/**
 * What an agent reads before writing a script (`get_code_docs` and the MCP resources): cut from the
 * files that already say it — README.md's "Inside the sandbox", docs/API.md, types/apify.d.ts — read
 * from the package at start, so there is no third copy to drift. Limits come from the option table.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RUN_OPTIONS } from '../run/option-table.js';
import { PACKAGE_ROOT } from '../run/deno.js';
import { WAIT_LIMITS } from './schemas.js';
import { DEFAULT_OUTPUT_CHARS } from './view.js';

export const DOC_TOPICS = ['overview', 'rules', 'api', 'types', 'recipes'] as const;
export type DocTopic = (typeof DOC_TOPICS)[number];

export const TOPIC_TITLES: Record<DocTopic, string> = {
  overview: 'Everything to read first: the sandbox rules and the `apify` reference',
  rules: 'What a script may and may not do, and the limits',
  api: 'The `apify` binding: every method, its options, results and errors (docs/API.md)',
  types: 'TypeScript declarations of `apify` (types/apify.d.ts)',
  recipes: 'Short scripts that show the usual shapes',
};

function read(relative: string): string {
  return readFileSync(path.join(PACKAGE_ROOT, relative), 'utf8');
}

/** One `## heading` section of a markdown file, without the heading line. */
function section(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section for get_code_docs`);
  const end = lines.findIndex((line, index) => index > start && /^## /.test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n').trim();
}

function limits(): string {
  const { timeoutSecs: t, memoryMbytes: m, code: c } = RUN_OPTIONS;
  return [
    '## Limits',
    `- Code: up to ${c.maxLength.toLocaleString('en-US')} characters, one module; top-level \`await\` works.`,
    `- \`timeoutSecs\`: ${t.min}–${t.max}, default ${t.default}. \`memoryMbytes\`: ${m.min}–${m.max}, default ${m.default}.`,
    `- \`run_code\` waits \`waitSecs\` (default ${WAIT_LIMITS.toolDefault}, at most ${WAIT_LIMITS.max}) and then answers with an executionId while the script keeps running; call \`get_execution\` for its result.`,
    `- The answer shows at most about ${DEFAULT_OUTPUT_CHARS.toLocaleString('en-US')} characters of output (head and tail); \`get_output\` pages through all of it by lines or bytes.`,
    '- Print what you want back: the result is exactly what the script wrote to stdout and stderr. Print compact text or JSON, not whole datasets.',
  ].join('\n');
}

const RECIPES = `## Recipes

Search the Store and print a short list:
\`\`\`ts
const actors = await apify.actor.search({ query: 'google maps', limit: 5 });
for (const a of actors) console.log(\`\${a.username}/\${a.name}: \${a.title ?? ''}\`);
\`\`\`

Run an Actor and read a few fields of its results in one call:
\`\`\`ts
const { run, items } = await apify.actor.runAndGetItems({
  actorId: 'apify/rag-web-browser', input: { query: 'apify' }, limit: 3, fields: ['metadata'],
});
console.log(run.status, JSON.stringify(items.map((i) => i.metadata)));
\`\`\`

Aggregate a big dataset without printing it:
\`\`\`ts
let count = 0;
const byCountry: Record<string, number> = {};
for await (const item of apify.dataset.listItems({ datasetId: 'DATASET_ID', fields: ['country'] })) {
  count += 1;
  const key = String(item.country ?? 'unknown');
  byCountry[key] = (byCountry[key] ?? 0) + 1;
}
console.log(count, JSON.stringify(byCountry));
\`\`\``;

let cache: Record<DocTopic, string> | undefined;

export function codeDocs(topic: DocTopic = 'overview'): string {
  cache ??= (() => {
    const rules = `# Inside the code-runtime sandbox\n\n${section(read('README.md'), 'Inside the sandbox')}\n\n${limits()}`;
    const api = read('docs/API.md');
    const types = `# types/apify.d.ts\n\n\`\`\`ts\n${read('types/apify.d.ts')}\n\`\`\``;
    return { overview: `${rules}\n\n${api}`, rules, api, types, recipes: RECIPES };
  })();
  return cache[topic];
}
