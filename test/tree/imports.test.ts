// Imports flow one way: front doors (bin, cli, actor, server) → runtime → run → relay, and everything
// may use the shared types/. Read from the sources: every relative module path a file names (static
// and dynamic imports, and path constants such as the CLI's lazily loaded Actor entry).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from '../helpers/helpers.js';

const tree = suite('tree');
const ORCHESTRATOR = path.join(ROOT, 'orchestrator');

/** What each folder of orchestrator/ may import besides itself and types/ ('.' is index.ts, the library's root). */
const ALLOWED: Record<string, string[]> = {
  // The root also exports the server for embedders (createServer, serveStdio), toolResult and ConfigError.
  '.': ['run', 'runtime', 'server', 'tools', 'config'],
  bin: ['cli', 'actor', 'server', 'runtime', 'run'],
  // The CLI dispatches to the other front doors: no arguments → the Actor entry; `mcp`/`serve` → the server.
  cli: ['actor', 'server', 'runtime', 'run', 'config'],
  // In Standby mode the Actor serves the server (loaded lazily; batch runs never load it).
  actor: ['server', 'runtime', 'run', 'config'],
  // The server's `tools` docs read the runtime's tools and the relay's bounds.
  server: ['runtime', 'run', 'tools', 'relay'],
  runtime: ['run', 'tools', 'config'],
  run: ['relay', 'tools', 'config'],
  // The tool hub answers the relay through the relay's own dispatcher interface.
  tools: ['config', 'relay'],
  relay: [],
  // The operator's configuration checks and returns data: it imports nothing of the orchestrator.
  config: [],
};

interface Edge { file: string; from: string; to: string }

function edges(): Edge[] {
  const found: Edge[] = [];
  const files = readdirSync(ORCHESTRATOR, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
  for (const file of files) {
    const from = path.dirname(file).split(path.sep)[0]!;
    const text = readFileSync(path.join(ORCHESTRATOR, file), 'utf8');
    for (const [, spec] of text.matchAll(/['"`]((?:\.\.?\/)+[\w./-]+\.js)['"`]/g)) {
      const target = path.relative(ORCHESTRATOR, path.resolve(ORCHESTRATOR, path.dirname(file), spec!));
      const to = target.startsWith('..') ? path.relative(ROOT, path.resolve(ORCHESTRATOR, target)).split(path.sep)[0]! : target.split(path.sep)[0]!;
      found.push({ file, from, to: to.endsWith('.js') ? '.' : to });
    }
  }
  return found;
}

tree('tree :: every orchestrator folder imports only the folders below it, and types/', () => {
  const all = edges();
  assert.ok(all.length > 50, `${all.length} imports read`);
  for (const folder of Object.keys(ALLOWED).filter((name) => name !== '.')) {
    assert.ok(all.some((edge) => edge.from === folder) || folder === 'server', `${folder}/ has files`);
  }
  const wrong = all.filter(({ from, to }) => to !== from && to !== 'types' && !(ALLOWED[from] ?? []).includes(to));
  assert.equal(wrong.map(({ file, to }) => `${file} → ${to}`), [], 'imports against the direction');
});

tree('tree :: the relay imports nothing of the orchestrator; the run core never the runtime or a front door', () => {
  const all = edges();
  assert.equal(all.filter((edge) => edge.from === 'relay' && !['relay', 'types'].includes(edge.to)).map((edge) => edge.file), []);
  assert.equal(all.filter((edge) => edge.from === 'run' && ['runtime', 'cli', 'actor', 'server', 'bin', '.'].includes(edge.to)).map((edge) => edge.file), []);
  // The check can fail: the real edges include the ones it allows.
  assert.ok(all.some((edge) => edge.from === 'run' && edge.to === 'relay'));
  assert.ok(all.some((edge) => edge.from === 'cli' && edge.to === 'actor'), 'the lazily loaded Actor entry is seen');
});

/** The modules of orchestrator/`folder` that `file` imports (type-only imports too: they are read the same way). */
function moduleImports(folder: string): Map<string, string[]> {
  const dir = path.join(ORCHESTRATOR, folder);
  const graph = new Map<string, string[]>();
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    graph.set(file, [...text.matchAll(/['"`]\.\/([\w-]+)\.js['"`]/g)].map(([, name]) => `${name}.ts`));
  }
  return graph;
}

/** Every import cycle in `graph`, as `a.ts → b.ts → a.ts`. */
function cycles(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (file: string, stack: string[]) => {
    state.set(file, 'open');
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), file, next].join(' → '));
      else if (!state.has(next)) visit(next, [...stack, file]);
    }
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file, []);
  return found;
}

tree('tree :: run/ reads one way: no module imports one that imports it back, directly or through others', () => {
  const graph = moduleImports('run');
  assert.ok(graph.size > 10 && [...graph.values()].flat().length > 20, 'the run core\'s imports are read');
  assert.equal(cycles(graph), []);
  // The check can fail: a cycle of two is found.
  assert.equal(cycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['a.ts']]])), ['a.ts → b.ts → a.ts']);
});

tree('tree :: nothing imports a process entry in bin/', () => {
  assert.equal(edges().filter((edge) => edge.to === 'bin' && edge.from !== 'bin').map((edge) => edge.file), []);
});

tree.run();
