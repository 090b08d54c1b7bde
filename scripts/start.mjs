// `npm start -- [flags] file.ts`: builds only when a source changed (build-lib.mjs), then runs
// the CLI in this same process, so an unchanged tree costs one Node start and an mtime scan.
// The build writes to stderr only: stdout is the script's output, or in `mcp` the protocol (npm's
// own banner still goes to stdout there unless npm runs with -s: MCP clients get `npm -s start -- mcp`).
import { build, isStale } from './build-lib.mjs';

if (isStale()) {
  const status = build({ stdout: 'stderr' });
  if (status !== 0) process.exit(status);
}
await import('../dist/orchestrator/bin/code-runtime.js');
