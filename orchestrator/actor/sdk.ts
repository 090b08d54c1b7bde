/**
 * The Apify SDK (`apify`, which brings crawlee), needed by the Actor alone: the package lists it as
 * an optional peer dependency, so an embedder who only runs scripts never installs it, and the
 * Actor image installs it (Dockerfile). Loaded when the Actor's modules load, never by the library,
 * the CLI's script runner or the server; when it is missing, the error names the fix.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../run/deno.js';

export type ApifySdk = typeof import('apify');

/** The SDK, or an error saying how to install it when it is not there. */
export async function loadSdk(): Promise<ApifySdk> {
  try {
    return await import('apify');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' || !/'apify'/.test((error as Error).message)) throw error;
    throw new Error(`the Actor needs the Apify SDK, the optional peer dependency \`apify\`, which is not installed: run \`npm install apify@${wantedRange()}\` (the Actor image installs it; running scripts does not need it)`, { cause: error });
  }
}

/** The SDK versions this package works with, as its package.json says. */
function wantedRange(): string {
  try {
    const manifest = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { peerDependencies?: Record<string, string> };
    return manifest.peerDependencies?.apify ?? 'latest';
  } catch {
    return 'latest';
  }
}
