// `npm start -- [flags] file.ts`: builds only when a source changed (build-lib.mjs), then runs
// the CLI in this same process, so an unchanged tree costs one Node start and an mtime scan.
import { build, isStale } from './build-lib.mjs';

if (isStale()) {
  const status = build();
  if (status !== 0) process.exit(status);
}
await import('../dist/orchestrator/bin/code-runtime.js');
