// Runs every compiled test file (dist/test/**/*.test.js) with uvu's CLI in one process, then lists
// the slowest files (so a suite that grows knows where its time goes) and ends with the line CI
// reads, `N passed, N failed`, because uvu's own summary is not such a line.
// Usage: node scripts/test.mjs [pattern]   (pattern filters the test files, e.g. `cli`)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// uvu's package exports do not include its CLI, so name the file.
const uvuBin = fileURLToPath(new URL('../node_modules/uvu/bin.js', import.meta.url));
const pattern = process.argv[2] ? `(${process.argv[2]}).*\\.test\\.js$` : '\\.test\\.js$';
/** How many of the slowest files to list. */
const SLOWEST = 8;

const child = spawn(process.execPath, [uvuBin, 'dist/test', pattern, '--no-color'], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, FORCE_COLOR: '0' },
});
let out = '';
let line = '';
/** Each file as uvu starts it (it prints the file's path alone on a line), with when. */
const files = [];
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const text = chunk.toString();
  out += text;
  const lines = (line + text).split('\n');
  line = lines.pop();
  for (const each of lines) {
    if (/^\S+\.test\.js$/.test(each)) files.push({ file: each, startedAt: performance.now() });
  }
});
child.on('close', (code) => {
  const endedAt = performance.now();
  const num = (label) => Number(out.match(new RegExp(`${label}:\\s+(\\d+)`))?.[1] ?? 0);
  const total = num('Total');
  const passed = num('Passed');
  // A crash before uvu's summary counts as a failure, never as a silent pass.
  const failed = total - passed + (code !== 0 && total === passed ? 1 : 0);
  // A file runs from its line to the next file's (the last one to uvu's end).
  const timed = files.map(({ file, startedAt }, i) => ({ file, ms: (files[i + 1]?.startedAt ?? endedAt) - startedAt }));
  const slowest = timed.sort((a, b) => b.ms - a.ms).slice(0, SLOWEST);
  if (slowest.length > 1) {
    process.stdout.write(`\nSlowest files:\n${slowest.map(({ file, ms }) => `  ${(ms / 1000).toFixed(1).padStart(6)} s  ${file}`).join('\n')}\n`);
  }
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  process.exit(failed > 0 || total === 0 ? 1 : 0);
});
