// Runs every compiled test file (dist/test/**/*.test.js), each in a uvu process of its own, TEST_LANES
// of them at once (default 2: one core's worth of tests mostly waits on the processes it starts, so
// two lanes keep both cores of a small machine busy). A file's output (stdout and stderr as they
// came) is shown whole once it ends, so two files never interleave. Then the slowest files are listed
// (so a suite that grows knows where its time goes), and the last line is the one CI reads,
// `N passed, N failed`, because uvu's own summary is not such a line. A file that crashes, or runs
// past TEST_FILE_TIMEOUT_SECS (default 600; its process group is killed), counts as a failure, never
// as a silent pass.
// Files that change the repository while they run (package/package.test: `npm pack` swaps in the
// shipped package.json, without scripts) run alone, before the others. And the build of what ships
// is brought up to date first when it is stale (the tests' `npm start`, `npm run actor` and
// `npm pack` would otherwise rebuild dist/ while other files read it).
// Usage: node scripts/test.mjs [pattern]   (pattern filters the test files, e.g. `cli`)
// TEST_LANES=1 runs one file at a time; TEST_SLOWEST=N lists the N slowest files instead of 8.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, isStale } from './build-lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
// uvu's package exports do not include its CLI, so name the file.
const uvuBin = path.join(root, 'node_modules', 'uvu', 'bin.js');
const testDir = path.join(root, 'dist', 'test');
const LANES = Math.max(1, Math.floor(Number(process.env.TEST_LANES ?? 2)) || 1);
/** How many of the slowest files to list. */
const SLOWEST = Number(process.env.TEST_SLOWEST) || 8;
const FILE_TIMEOUT_MS = (Number(process.env.TEST_FILE_TIMEOUT_SECS) || 600) * 1000;
/** Longer than a process's start and exit around its tests: said in the output, the suite waits for it. */
const LINGER_MS = 3000;
/** Folders whose files take longest (they start Node processes: the Actor entry, the CLI, npm): started first, so no long file is left for the end. */
const LONG_FIRST = /^(actor|cli|package)\//;

const filter = new RegExp(process.argv[2] ? `(${process.argv[2]}).*\\.test\\.js$` : '\\.test\\.js$', 'i');
const files = readdirSync(testDir, { recursive: true }).map((file) => file.split(path.sep).join('/')).filter((file) => filter.test(file)).sort();
/** Files that change the repository while they run: nothing runs beside them. */
const ALONE = /^package\/package\.test\.js$/;
const alone = files.filter((file) => ALONE.test(file));
const shared = files.filter((file) => !ALONE.test(file));
const queue = [...shared.filter((file) => LONG_FIRST.test(file)), ...shared.filter((file) => !LONG_FIRST.test(file))];
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const running = new Set();

/** Runs uvu on `file` alone, in a process group of its own; resolves with its output, counts and time. */
function runFile(file) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [uvuBin, 'dist/test', `^${escape(file)}$`, '--no-color'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
      detached: true,
    });
    running.add(child);
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, FILE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const num = (label) => Number(out.match(new RegExp(`^\\s+${label}:\\s+(\\d+)`, 'm'))?.[1] ?? 0);
      const [total, passed, skipped] = [num('Total'), num('Passed'), num('Skipped')];
      // A crash (or a kill) before uvu's summary, or after it with every test passed, counts as a failure.
      const crashed = (code !== 0 || timedOut) && total === passed;
      let why = '';
      if (timedOut) why = `\n  ${file} ran past ${FILE_TIMEOUT_MS / 1000} s and was killed\n`;
      else if (crashed) why = `\n  ${file} ended with ${signal ?? `exit code ${code}`} ${total ? 'after its tests passed' : 'before uvu\'s summary'}\n`;
      const ms = performance.now() - started;
      // A file whose process outlives its tests by seconds left a timer, socket or child running: the suite waits for it.
      const testsMs = Number(out.match(/^\s+Duration:\s+([\d.]+)ms/m)?.[1] ?? ms);
      if (ms - testsMs > LINGER_MS) why += `\n  ${file}: its process ended ${((ms - testsMs) / 1000).toFixed(1)} s after its tests (something it started was still running)\n`;
      resolve({ file, out: out + why, total, passed, skipped, failed: total - passed + (crashed ? 1 : 0), ms });
    });
  });
}

function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

// Interrupted: the files' process groups go too (they are detached, so the terminal's signal misses them).
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of running) killGroup(child);
    process.exit(130);
  });
}

/** The summary uvu prints at the end of each file's output: left out, the totals come once at the end. */
const uvuSummary = /\n\s+Total:\s+\d+\n\s+Passed:\s+\d+\n\s+Skipped:\s+\d+\n\s+Duration:\s+[\d.]+ms\n*/;
const started = performance.now();
if (isStale()) {
  process.stdout.write('The build of what ships is older than its sources: building it first.\n');
  if (build({ stdout: 'stderr' }) !== 0) process.exit(1);
}
const results = [];
async function runAndShow(file) {
  const result = await runFile(file);
  results.push(result);
  process.stdout.write(`${result.out.replace(uvuSummary, '\n').trimEnd()}\n\n`);
}
for (const file of alone) await runAndShow(file);
let next = 0;
await Promise.all(Array.from({ length: Math.min(LANES, queue.length) }, async () => {
  while (next < queue.length) await runAndShow(queue[next++]);
}));

const sum = (key) => results.reduce((total, result) => total + result[key], 0);
const [total, passed, skipped, failed] = [sum('total'), sum('passed'), sum('skipped'), sum('failed')];
process.stdout.write(`  Total:     ${total}\n  Passed:    ${passed}\n  Skipped:   ${skipped}\n  Duration:  ${((performance.now() - started) / 1000).toFixed(1)} s (${results.length} files, ${LANES} at once)\n`);
const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, SLOWEST);
if (slowest.length > 1) {
  process.stdout.write(`\nSlowest files:\n${slowest.map(({ file, ms }) => `  ${(ms / 1000).toFixed(1).padStart(6)} s  ${file}`).join('\n')}\n`);
}
const failing = results.filter((result) => result.failed > 0).map((result) => result.file);
if (failing.length > 0) process.stdout.write(`\nFailed in: ${failing.join(', ')}\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 || total === 0 ? 1 : 0);
