/**
 * The Apify Actor's entry (the image's CMD, and `npm run actor`). Only wiring: the Actor lives in
 * `../actor/`.
 */
import { main } from '../actor/main.js';

main().catch((error: unknown) => {
  process.stderr.write(`code-runtime actor: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
