// `npm start`, `prepare` and `prepack` build only when something that ships changed: the staleness
// check of scripts/build-lib.mjs over a throwaway tree (sources, configs, dist/ and its stamp), and
// the pruning that keeps outputs of deleted modules out of dist/ and so out of the tarball.
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, scratchDir } from '../helpers/helpers.js';

const build = suite('build');

interface BuildLib {
  isStale(root: string): boolean;
  pruneOrphans(root: string, folder: string): void;
  copyAssets(root: string): void;
}
const lib = await import(pathToFileURL(path.join(ROOT, 'scripts', 'build-lib.mjs')).href) as BuildLib;

const BUILT = new Date('2026-01-01T12:00:00Z');
const BEFORE = new Date('2026-01-01T11:00:00Z');
const AFTER = new Date('2026-01-01T13:00:00Z');

/** A tree as it is right after a build: every file and folder older than the stamp. */
function builtTree(): string {
  const root = scratchDir('build');
  const files = [
    'package.json', 'tsconfig.json', 'tsconfig.build.json', 'orchestrator/index.ts', 'orchestrator/run/run.ts', 'types/result.ts',
    'dist/orchestrator/index.js', 'dist/orchestrator/index.d.ts', 'dist/orchestrator/bin/code-runtime.js', 'dist/orchestrator/bin/actor.js',
    'dist/orchestrator/run/run.js', 'guest/bootstrap.ts', 'dist/guest/bootstrap.js', 'dist/guest/guest.json',
    'orchestrator/run/spawner.pl', 'dist/orchestrator/run/spawner.pl',
  ];
  for (const file of files) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), '');
  }
  for (const entry of [...files, 'orchestrator', 'orchestrator/run', 'types', 'guest']) utimesSync(path.join(root, entry), BEFORE, BEFORE);
  writeFileSync(path.join(root, 'dist', '.build-stamp'), '');
  utimesSync(path.join(root, 'dist', '.build-stamp'), BUILT, BUILT);
  return root;
}

build('build :: an unchanged tree is fresh; a newer source, config or package.json makes it stale', () => {
  const root = builtTree();
  assert.is(lib.isStale(root), false);
  for (const changed of ['orchestrator/run/run.ts', 'types/result.ts', 'guest/bootstrap.ts', 'tsconfig.build.json', 'package.json']) {
    const tree = builtTree();
    utimesSync(path.join(tree, changed), AFTER, AFTER);
    assert.is(lib.isStale(tree), true, `${changed} changed`);
    rmSync(tree, { recursive: true });
  }
  rmSync(root, { recursive: true });
});

build('build :: a deleted or added module makes it stale (its folder\'s mtime moves)', () => {
  const removed = builtTree();
  rmSync(path.join(removed, 'orchestrator/run/run.ts'));
  assert.is(lib.isStale(removed), true);
  const added = builtTree();
  writeFileSync(path.join(added, 'orchestrator', 'new.ts'), '');
  utimesSync(path.join(added, 'orchestrator', 'new.ts'), BEFORE, BEFORE);
  assert.is(lib.isStale(added), true);
});

build('build :: no stamp, or a missing entry, is stale', () => {
  const unstamped = builtTree();
  rmSync(path.join(unstamped, 'dist', '.build-stamp'));
  assert.is(lib.isStale(unstamped), true);
  const partial = builtTree();
  rmSync(path.join(partial, 'dist/orchestrator/bin/code-runtime.js'));
  assert.is(lib.isStale(partial), true);
});

build('build :: outputs whose source is gone are pruned, the rest kept', () => {
  const root = builtTree();
  for (const orphan of ['old.js', 'old.d.ts', 'old.js.map', 'old.d.ts.map', 'old.pl']) writeFileSync(path.join(root, 'dist/orchestrator/run', orphan), '');
  rmSync(path.join(root, 'orchestrator/index.ts'));
  lib.pruneOrphans(root, 'orchestrator');
  for (const gone of ['run/old.js', 'run/old.d.ts', 'run/old.js.map', 'run/old.d.ts.map', 'run/old.pl', 'index.js', 'index.d.ts']) {
    assert.not.ok(existsSync(path.join(root, 'dist/orchestrator', gone)), `${gone} pruned`);
  }
  assert.ok(existsSync(path.join(root, 'dist/orchestrator/run/run.js')), 'run.js kept');
  assert.ok(existsSync(path.join(root, 'dist/orchestrator/run/spawner.pl')), 'an asset whose source is there kept');
});

build('build :: assets (the spawner\'s Perl program) are copied beside the compiled code; a missing one is stale', () => {
  const root = builtTree();
  writeFileSync(path.join(root, 'orchestrator/run/spawner.pl'), 'print 1;\n');
  lib.copyAssets(root);
  assert.is(readFileSync(path.join(root, 'dist/orchestrator/run/spawner.pl'), 'utf8'), 'print 1;\n');
  rmSync(path.join(root, 'dist/orchestrator/run/spawner.pl'));
  assert.is(lib.isStale(root), true);
});

build.run();
