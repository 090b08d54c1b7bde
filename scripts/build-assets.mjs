// Copies the files the compiled orchestrator reads beside itself (the spawner's Perl program) into
// dist/, for `npm run build:all`, which compiles with tsc directly; `npm run build` does the same
// through build-lib.mjs. Usage: node scripts/build-assets.mjs
import { copyAssets } from './build-lib.mjs';

copyAssets();
