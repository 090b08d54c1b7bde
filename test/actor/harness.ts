/**
 * Runs the Actor entry as the platform would, but offline: `node dist/orchestrator/bin/actor.js` as a
 * child process with the SDK's local storage in a fresh temporary folder, no token, and none of
 * the parent's Apify variables. Returns its exit code, its log, the dataset items and the records.
 * `startStandby` starts a Standby run against the fake platform (`platform-mock.ts`) instead.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { ROOT } from '../helpers/helpers.js';
import type { ActorItem } from '../../orchestrator/actor/item.js';

export const ACTOR_ENTRY = path.join(ROOT, 'dist', 'orchestrator', 'bin', 'actor.js');

// Every folder these tests make lives under one, removed when the test process ends.
const SCRATCH = mkdtempSync(path.join(tmpdir(), 'code-runtime-actor-tests-'));
process.once('exit', () => rmSync(SCRATCH, { recursive: true, force: true }));

/** A fresh folder for one test, removed with the others at exit. */
export function scratchDir(name: string): string {
  return mkdtempSync(path.join(SCRATCH, `${name}-`));
}

export interface ActorRun {
  exitCode: number | undefined;
  /** stdout and stderr of the Actor process, interleaved as they arrived. */
  log: string;
  items: ActorItem[];
  /** Keys of the default key-value store, without INPUT. */
  keys: string[];
  /** A record of the default key-value store, as text; undefined when missing. */
  record(key: string): string | undefined;
  /** The storage folder, to run again on the same storages. */
  storage: string;
}

export interface ActorRunOptions {
  /** INPUT.json's exact text, for input that is not what `JSON.stringify(input)` gives. */
  rawInput?: string;
  env?: Record<string, string>;
  /** Reuse this storage folder (a restarted run). */
  storage?: string;
}

/** Environment of a local run: only what Node needs, plus the SDK's storage folder. */
export function actorEnv(storage: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? tmpdir(),
    CRAWLEE_STORAGE_DIR: storage,
    APIFY_LOCAL_STORAGE_DIR: storage,
    ...extra,
  };
}

export function readStorage(storage: string): Pick<ActorRun, 'items' | 'keys' | 'record'> {
  const datasetDir = path.join(storage, 'datasets', 'default');
  const storeDir = path.join(storage, 'key_value_stores', 'default');
  const items = existsSync(datasetDir)
    ? readdirSync(datasetDir).filter((name) => /^\d+\.json$/.test(name)).sort()
      .map((name) => JSON.parse(readFileSync(path.join(datasetDir, name), 'utf8')) as ActorItem)
    : [];
  const files = existsSync(storeDir) ? readdirSync(storeDir).filter((name) => !name.includes('__metadata__')) : [];
  return {
    items,
    keys: files.filter((name) => !name.startsWith('INPUT')).sort(),
    record: (key) => (files.includes(key) ? readFileSync(path.join(storeDir, key), 'utf8') : undefined),
  };
}

/** Runs the Actor once with `input` (undefined: no INPUT record at all). */
export async function runActor(input: unknown, options: ActorRunOptions = {}): Promise<ActorRun> {
  const storage = options.storage ?? scratchDir('storage');
  const storeDir = path.join(storage, 'key_value_stores', 'default');
  mkdirSync(storeDir, { recursive: true });
  const raw = options.rawInput ?? (input === undefined ? undefined : JSON.stringify(input));
  if (raw !== undefined) writeFileSync(path.join(storeDir, 'INPUT.json'), raw);
  const child = await execa(process.execPath, [ACTOR_ENTRY], {
    // A folder without .actor/, as on the platform: the SDK fills no defaults from a schema.
    cwd: storage,
    env: actorEnv(storage, options.env),
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    all: true,
    timeout: 120_000,
  });
  return { exitCode: child.exitCode, log: child.all ?? '', storage, ...readStorage(storage) };
}

/**
 * Runs the real Apify CLI (apify-cli, a dev dependency) in `cwd`, offline: telemetry and npm's
 * update check off, and a throwaway HOME so nothing is written to the user's own ~/.apify.
 */
export function apifyCli(args: string[], cwd: string, env: Record<string, string> = {}) {
  return execa(path.join(ROOT, 'node_modules', '.bin', 'apify'), args, {
    cwd,
    env: {
      APIFY_CLI_DISABLE_TELEMETRY: '1',
      npm_config_update_notifier: 'false',
      HOME: scratchDir('home'),
      ...env,
    },
    // The CLI reads input from a piped stdin; give it none.
    stdin: 'ignore',
    reject: false,
    all: true,
    timeout: 180_000,
  });
}

/** A deadline `secs` from now, as the platform writes `ACTOR_TIMEOUT_AT`. */
export function deadlineIn(secs: number): string {
  return new Date(Date.now() + secs * 1000).toISOString();
}

/** A Standby run of the Actor: `node actor.js` with a run's platform environment, serving on a free loopback port. */
export interface StandbyProcess {
  base: string;
  /** Its log so far (stdout and stderr). */
  log(): string;
  /** Resolves with its exit code once it has exited. */
  exited: Promise<number | undefined>;
  /** Sends `signal` (default SIGTERM) and resolves once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | undefined>;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Starts a Standby run with `runEnv` (a platform run's environment) and waits until it answers the readiness probe. */
export async function startStandby(runEnv: Record<string, string>, env: Record<string, string> = {}): Promise<StandbyProcess> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = execa(process.execPath, [ACTOR_ENTRY], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...runEnv, APIFY_META_ORIGIN: 'STANDBY', ACTOR_WEB_SERVER_PORT: String(port), CODE_RUNTIME_HOST: '127.0.0.1', CODE_RUNTIME_GRACE_SECS: '1', ...env },
    extendEnv: false, stdin: 'ignore', reject: false, all: true, timeout: 120_000,
  });
  let log = '';
  child.all?.on('data', (chunk: Buffer) => void (log += chunk.toString()));
  const exited = child.then((done) => done.exitCode);
  let gone = false;
  void exited.then(() => void (gone = true));
  for (;;) {
    if (gone) throw new Error(`The Standby run exited before it served:\n${log}`);
    const probe = await fetch(`${base}/`, { headers: { 'x-apify-container-server-readiness-probe': '1' } }).catch(() => undefined);
    if (probe?.ok) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    base,
    log: () => log,
    exited,
    stop: (signal = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };
}
