// The Dockerfile, tested without a Docker engine: its shape (Debian Node 20, non-root, Actor entry),
// every COPY source present and not dockerignored, and an emulated build: the build stage's files
// compile, and the final stage's files with production dependencies only run the Actor.
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { actorEnv, readStorage, scratchDir } from './harness.js';
import { ROOT } from '../helpers/helpers.js';

const docker = suite('actor-docker');

interface Instruction { op: string; args: string }
interface Stage { image: string; name?: string; steps: Instruction[] }

/** Stages of a Dockerfile: continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op = '', args = ''] = line.match(/^(\w+)\s+(.*)$/) ?? [];
    if (op.toUpperCase() === 'FROM') {
      const [image = '', , name] = args.split(/\s+/);
      stages.push({ image, name, steps: [] });
    } else {
      stages.at(-1)?.steps.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

/** A COPY's flags, sources and destination. */
function copyParts(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
  const paths = words.filter((word) => !word.startsWith('--'));
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

const stages = parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
const final = stages.at(-1)!;
const WORKDIR = '/app';

docker('actor-docker :: two stages, both Debian (glibc) Node 20, never Alpine', () => {
  assert.is(stages.length, 2);
  for (const stage of stages) {
    assert.match(stage.image, /^node:20-bookworm(-slim)?$/);
    assert.ok(stage.steps.some((step) => step.op === 'WORKDIR' && step.args === WORKDIR));
  }
  assert.is(stages[0]!.name, 'build');
});

docker('actor-docker :: every COPY source exists, in the repository or made by the build stage, and is not dockerignored', () => {
  const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const buildRuns = stages[0]!.steps.filter((step) => step.op === 'RUN').map((step) => step.args).join(' && ');
  let copies = 0;
  for (const stage of stages) {
    for (const step of stage.steps.filter((s) => s.op === 'COPY')) {
      const { from, sources } = copyParts(step.args);
      for (const source of sources) {
        copies += 1;
        const relative = from ? path.relative(WORKDIR, source) : source;
        if (from) {
          assert.is(from, 'build');
          // Made by `npm run build` (tsc → dist/), which the tests have just run here too.
          assert.ok(relative.startsWith('dist/') && buildRuns.includes('npm run build'), `${source} comes from the build`);
        } else {
          assert.not.ok(ignored.includes(relative.split('/')[0]!), `${source} is not in .dockerignore`);
        }
        assert.ok(existsSync(path.join(ROOT, relative)), `${source} exists`);
      }
    }
  }
  assert.ok(copies >= 8, `${copies} COPY sources checked`);
  for (const kept of ['node_modules', 'dist', 'storage', '.git']) assert.ok(ignored.includes(kept), `${kept} is dockerignored`);
});

docker('actor-docker :: production dependencies only, a non-root user, and the Actor entry as CMD', () => {
  const runs = final.steps.filter((step) => step.op === 'RUN').map((step) => step.args).join(' && ');
  assert.match(runs, /npm ci --omit=dev/);
  assert.match(runs, /require\('deno\/install_api\.cjs'\)\.runInstall\(\)/, 'Deno is resolved at build time, as root');
  const user = final.steps.filter((step) => step.op === 'USER').at(-1)?.args;
  assert.ok(user && !['root', '0'].includes(user), `runs as ${user}`);
  const cmd = JSON.parse(final.steps.find((step) => step.op === 'CMD')!.args) as string[];
  assert.equal(cmd, ['node', 'dist/orchestrator/bin/actor.js']);
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.ok(pkg.scripts.actor!.endsWith(cmd.join(' ')), 'CMD is what `npm run actor` runs');
});

/** Replays a stage's COPY steps into `dir` (standing for /app), taking --from=build sources from `built`. */
function replayCopies(stage: Stage, dir: string, built?: string): void {
  for (const step of stage.steps.filter((s) => s.op === 'COPY')) {
    const { from, sources, dest } = copyParts(step.args);
    for (const source of sources) {
      const origin = from ? path.join(built!, path.relative(WORKDIR, source)) : path.join(ROOT, source);
      const target = dest.endsWith('/') ? path.join(dir, dest, path.basename(source)) : path.join(dir, dest);
      mkdirSync(path.dirname(target), { recursive: true });
      cpSync(origin, target, { recursive: true });
    }
  }
}

/** node_modules holding only what `npm ci --omit=dev` installs in `dir` (its package.json as the stage left it, its lockfile), as links to the repository's packages. */
async function productionModules(dir: string): Promise<void> {
  const listed = await execa('npm', ['ls', '--omit=dev', '--all', '--parseable', '--package-lock-only'], { cwd: dir, reject: false });
  for (const full of listed.stdout.split('\n')) {
    const relative = path.relative(dir, full);
    if (!/^node_modules\/(@[^/]+\/)?[^/]+$/.test(relative)) continue;
    mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
    symlinkSync(path.join(ROOT, relative), path.join(dir, relative));
  }
}

/** Runs a stage's RUN commands in `dir`, except installs (offline: `install` stands in for them) and cache cleaning. */
async function replayRuns(stage: Stage, dir: string, install = async () => {}): Promise<void> {
  for (const step of stage.steps.filter((s) => s.op === 'RUN')) {
    for (const command of step.args.split('&&').map((part) => part.trim())) {
      if (/^npm ci\b/.test(command)) await install();
      if (/^npm (ci|cache)\b/.test(command)) continue;
      const r = await execa('sh', ['-c', command], { cwd: dir, reject: false, all: true });
      assert.is(r.exitCode, 0, `${command}: ${r.all}`);
    }
  }
}

docker('actor-docker :: the image\'s files and production dependencies alone build and run the Actor', async () => {
  // Build stage: its COPY steps, every dependency (`npm ci`), then its RUN steps: the real `npm run build`.
  const built = scratchDir('docker-build');
  replayCopies(stages[0]!, built);
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(built, 'node_modules'));
  await replayRuns(stages[0]!, built);
  assert.ok(existsSync(path.join(built, 'dist', 'orchestrator', 'bin', 'actor.js')), 'the build made the Actor entry');

  // Final stage: its COPY steps, then its RUN steps, production dependencies only (`npm ci --omit=dev`, with the SDK the image adds).
  const image = scratchDir('docker-image');
  replayCopies(final, image, built);
  await replayRuns(final, image, async () => {
    await productionModules(image);
    assert.not.ok(existsSync(path.join(image, 'node_modules', 'apify-cli')), 'no dev dependencies');
  });

  // CMD, as the platform starts the container.
  const storage = scratchDir('docker-storage');
  mkdirSync(path.join(storage, 'key_value_stores', 'default'), { recursive: true });
  writeFileSync(path.join(storage, 'key_value_stores', 'default', 'INPUT.json'), JSON.stringify({ code: 'console.log("from the image")' }));
  const cmd = JSON.parse(final.steps.find((s) => s.op === 'CMD')!.args) as string[];
  const run = await execa(process.execPath, cmd.slice(1), { cwd: image, env: actorEnv(storage), extendEnv: false, reject: false, all: true });
  assert.is(run.exitCode, 0, run.all);
  const { items } = readStorage(storage);
  assert.is(items[0]?.status, 'SUCCEEDED');
  assert.is(items[0]?.stdout, 'from the image\n');
});

docker.run();
