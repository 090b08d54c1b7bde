/**
 * Where a spawner's socket lives: a private (0700) directory of its own, `code-runtime-spawner-XXXXXX/s`
 * under the temp dir (else /tmp) whose path fits a Unix socket's, and the cleanup of those that
 * killed orchestrators left behind.
 * Invariants: only this user's own real directories are removed (never a symlink, never another
 * user's, never recursively), and only when nothing listens on the socket in them, which holds
 * across pid namespaces sharing the directory.
 */
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How every spawner's directory is named, so one a killed orchestrator left can be found. */
const DIR_PREFIX = 'code-runtime-spawner-';
/** A socket directory with no socket this old was left by a spawner that never listened. */
const ORPHAN_AGE_MS = 60_000;
/** Longest Unix socket path Linux takes (sun_path is 108 bytes, NUL included). */
const MAX_SOCKET_PATH = 107;

/**
 * Removes the socket directories in `base` that spawners left when their orchestrator was killed,
 * except `own`. Asynchronous and best effort: a directory it cannot judge or remove is left.
 */
function removeOrphans(base: string, own: string): void {
  let names: string[];
  try {
    names = readdirSync(base).filter((name) => name.startsWith(DIR_PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = join(base, name);
    try {
      const entry = lstatSync(dir);
      // In a sticky /tmp nobody else can rename a directory this user owns: what was checked is what is removed.
      if (dir === own || !entry.isDirectory() || entry.uid !== process.getuid?.()) continue;
      const socketPath = join(dir, 's');
      if (!existsSync(socketPath)) {
        // Made and not yet listened in (a spawner starting right now), or left before it listened.
        if (Date.now() - entry.mtimeMs > ORPHAN_AGE_MS) rmdirSync(dir);
        continue;
      }
      const probe = createConnection(socketPath);
      probe.on('connect', () => probe.destroy());
      probe.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ECONNREFUSED') return;
        try {
          unlinkSync(socketPath);
          rmdirSync(dir);
        } catch {
          // Changed meanwhile: left.
        }
      });
      probe.unref();
    } catch {
      // Gone meanwhile, or not ours to look into: left.
    }
  }
}

/** A new private directory for a spawner's socket, and the socket's path; orphans beside it are cleaned up. Throws, saying why, when there is none. */
export function socketDirectory(): { dir: string; socketPath: string } {
  const tried: string[] = [];
  for (const base of [...new Set([tmpdir(), '/tmp'])]) {
    let dir: string;
    try {
      dir = mkdtempSync(join(base, DIR_PREFIX));
    } catch (error) {
      tried.push(`${base}: ${(error as Error).message}`);
      continue;
    }
    const socketPath = join(dir, 's');
    if (Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH) {
      removeOrphans(base, dir);
      return { dir, socketPath };
    }
    rmSync(dir, { recursive: true, force: true });
    tried.push(`${base}: the socket path would be ${Buffer.byteLength(socketPath)} bytes, over the ${MAX_SOCKET_PATH} a Unix socket takes`);
  }
  throw new Error(`no directory for its socket (${tried.join('; ')})`);
}
