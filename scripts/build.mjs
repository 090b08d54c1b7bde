// Builds what ships only when it is stale (see build-lib.mjs); `--force` always builds. Used by
// `npm run build`, `npm run actor`, `prepare` and `prepack`.
// Usage: node scripts/build.mjs [--force]      Exit code: tsc's.
import { build, isStale } from './build-lib.mjs';

process.exitCode = process.argv.includes('--force') || isStale() ? build() : 0;
