// Runs every compiled test file (dist/test/**/*.test.js) with uvu's CLI, then lists the slowest files
// (so a suite that grows knows where its time goes) and ends with the line CI reads,
// `N passed, N failed`, because uvu's own summary is not such a line.
// Usage: node scripts/test.mjs [pattern]   (pattern filters the test files, e.g. `cli`)
// TEST_LANES=2 runs the files that start Node processes (actor/, cli/, package/) in a second uvu
// process beside the others; each lane's output is shown once it ends. Default: one lane.
// TEST_SLOWEST=N lists the N slowest files instead of 8 (e.g. 100 to see every file's time).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// uvu's package exports do not include its CLI, so name the file.
const uvuBin = path.join(root, 'node_modules', 'uvu', 'bin.js');
const testDir = path.join(root, 'dist', 'test');
/** How many of the slowest files to list. */
const SLOWEST = Number(process.env.TEST_SLOWEST) || 8;
/** Folders whose tests mostly wait on Node processes they start (the Actor entry, the CLI, npm): the second lane. */
const NODE_HEAVY = /^(actor|cli|package)\//;

const filter = new RegExp(process.argv[2] ? `(${process.argv[2]}).*\\.test\\.js$` : '\\.test\\.js$', 'i');
const files = (readdirSync(testDir, { recursive: true })).map((file) => file.split(path.sep).join('/')).filter((file) => filter.test(file)).sort();
const lanes = process.env.TEST_LANES === '2'
  ? [files.filter((file) => !NODE_HEAVY.test(file)), files.filter((file) => NODE_HEAVY.test(file))].filter((lane) => lane.length > 0)
  : [files];
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Runs uvu on exactly `laneFiles`; resolves with its output, exit code and when each file started. */
function runLane(laneFiles, live) {
  return new Promise((resolve) => {
    const pattern = `^(${laneFiles.map(escape).join('|')})$`;
    const child = spawn(process.execPath, [uvuBin, 'dist/test', pattern, '--no-color'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let out = '';
    let line = '';
    // uvu prints each file's path alone on a line as it starts it.
    const started = [];
    child.stdout.on('data', (chunk) => {
      if (live) process.stdout.write(chunk);
      const text = chunk.toString();
      out += text;
      const lines = (line + text).split('\n');
      line = lines.pop();
      for (const each of lines) {
        if (/^\S+\.test\.js$/.test(each)) started.push({ file: each, at: performance.now() });
      }
    });
    child.on('close', (code) => {
      const endedAt = performance.now();
      if (!live) process.stdout.write(out);
      // A file runs from its line to the next file's (the last one to uvu's end).
      resolve({ out, code, timed: started.map(({ file, at }, i) => ({ file, ms: (started[i + 1]?.at ?? endedAt) - at })) });
    });
  });
}

const results = await Promise.all(lanes.map((laneFiles, i) => runLane(laneFiles, lanes.length === 1 && i === 0)));
let total = 0;
let passed = 0;
let failed = 0;
for (const { out, code } of results) {
  const num = (label) => Number(out.match(new RegExp(`${label}:\\s+(\\d+)`))?.[1] ?? 0);
  total += num('Total');
  passed += num('Passed');
  // A crash before uvu's summary counts as a failure, never as a silent pass.
  failed += num('Total') - num('Passed') + (code !== 0 && num('Total') === num('Passed') ? 1 : 0);
}
const slowest = results.flatMap(({ timed }) => timed).sort((a, b) => b.ms - a.ms).slice(0, SLOWEST);
if (slowest.length > 1) {
  process.stdout.write(`\nSlowest files:\n${slowest.map(({ file, ms }) => `  ${(ms / 1000).toFixed(1).padStart(6)} s  ${file}`).join('\n')}\n`);
}
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 || total === 0 ? 1 : 0);
