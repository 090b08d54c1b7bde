// Runs every compiled test file (dist/test/**/*.test.js) with uvu's CLI in one process and ends
// with the line CI reads, `N passed, N failed`, because uvu's own summary is not such a line.
// Usage: node scripts/test.mjs [pattern]   (pattern filters the test files, e.g. `cli`)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// uvu's package exports do not include its CLI, so name the file.
const uvuBin = fileURLToPath(new URL('../node_modules/uvu/bin.js', import.meta.url));
const pattern = process.argv[2] ? `(${process.argv[2]}).*\\.test\\.js$` : '\\.test\\.js$';
const child = spawn(process.execPath, [uvuBin, 'dist/test', pattern, '--no-color'], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, FORCE_COLOR: '0' },
});
let out = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  out += chunk.toString();
});
child.on('close', (code) => {
  const num = (label) => Number(out.match(new RegExp(`${label}:\\s+(\\d+)`))?.[1] ?? 0);
  const total = num('Total');
  const passed = num('Passed');
  // A crash before uvu's summary counts as a failure, never as a silent pass.
  const failed = total - passed + (code !== 0 && total === passed ? 1 : 0);
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  process.exit(failed > 0 || total === 0 ? 1 : 0);
});
