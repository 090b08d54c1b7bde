/**
 * Words every denial for the sandbox: what was refused, that this sandbox does not allow it, and,
 * for the network, what it does allow. Deno's own text ("run again with the --allow-read flag")
 * asks for something neither a script nor the model writing it can do.
 *
 * Where: Deno builds an op's error in JavaScript, `new ErrorClass(message)` (core's
 * buildCustomError), and its error classes assign `this.name` in their constructors. An accessor for
 * `name` on NotCapable's and NotFound's prototypes therefore sees each such error once, message set,
 * before anyone else does: Deno.*, node:* modules and Workers alike. Imports fail with a TypeError
 * that V8 builds, but Deno reads its `name` before handing it to the script, so TypeError's
 * prototype gets such an accessor too. An error built where no JavaScript runs (a V8 fast call) is
 * worded when its stack is written (stacks.ts calls `reword`). node:dns (and so node:net, node:http)
 * turns a refused lookup into Node's own `Error: getaddrinfo EPERM <host>`, whose `syscall` it
 * assigns last: an accessor for `syscall` on Error's prototype words it then, keeping Node's `code`.
 * The classes stay: a denial is still `instanceof Deno.errors.NotCapable` (and a failed spawn,
 * Deno's NotFound, becomes one).
 */
import {
  defineProperty,
  ErrorClass,
  exec,
  getPrototypeOf,
  hasOwn,
  indexOf,
  isPrototypeOf,
  own,
  ownValue,
  reflectGet,
  setPrototypeOf,
  slice,
  startsWith,
  TypeErrorClass,
} from './captured.ts';
import { facts, named } from './facts.ts';
import { callSites } from './stacks.ts';

const { NotCapable, NotFound } = Deno.errors;

/** Deno's permission error: `Requires <kind> access[ to <what>], run again with the --allow-<kind> flag`. */
const PERMISSION = /^Requires (\w+) access(?: to ([\s\S]+))?, (?:run again with the --allow-\w+ flag|specify the required permissions[\s\S]*)$/;
/** Deno's own words for a permission error it explains itself (e.g. `Deno.symlinkSync() requires unscoped --allow-read …`). */
const CUSTOM = /^(?:(Deno\.\w+\(\)) )?[\s\S]*?--allow-(\w+)/;
/** node:dns's error for a lookup Deno refused (NotCapable becomes EPERM there). */
const NODE_LOOKUP = /^getaddrinfo EPERM ([^\s]+)$/;
/** A spawn Deno refused before asking for permission: the sandbox's PATH is empty. */
const SPAWN = /^Failed to spawn '([\s\S]*)': /;

/** What each kind of access is, for the sentence `<it> is not available in this sandbox`. */
const ACCESS: Record<string, string> = {
  __proto__: null as never,
  read: 'reading files is',
  write: 'writing files is',
  env: 'environment variables are',
  sys: 'system information is',
  run: 'running subprocesses is',
  ffi: 'loading native libraries (FFI) is',
  import: 'importing remote modules is',
};

/** Deno's placeholders for paths it does not print. */
const PLACES: Record<string, string> = {
  __proto__: null as never,
  '<CWD>': 'the working directory',
  '<TMP>': 'the temporary directory',
  '<exec_path>': "Deno's executable",
};

/** Import failures: Deno's words (the first line), what they mean, and what was tried. */
const IMPORTS: readonly (readonly [RegExp, string])[] = [
  [/^invalid URL: relative URL with a cannot-be-a-base base$/, 'importing relative paths is not available in this sandbox (the script is one module, with no files beside it)'],
  [/^A remote specifier was requested: ("[^"\n]*"), but --no-remote is specified\.$/, 'importing remote modules is not available in this sandbox'],
  [/^npm specifiers were requested; but --no-npm is specified$/, 'importing npm: packages is not available in this sandbox'],
  [/^JSR package manifest for '([^'\n]*)' failed to load\./, 'importing jsr: packages is not available in this sandbox'],
  [/^Import ("[^"\n]*") not a dependency/, 'importing packages is not available in this sandbox'],
  [/^Relative import path ("[^"\n]*") not prefixed with/, 'importing packages is not available in this sandbox'],
  [/^Requires read access to ("[^"\n]*"), run again with the --allow-read flag$/, 'importing files is not available in this sandbox'],
];
const CAN_IMPORT = '; only node: built-ins (e.g. "node:path"), data: and blob: URLs can be imported';

function tried(what: string | undefined): string {
  if (what === undefined) return '';
  return ` (tried ${PLACES[what] ?? what})`;
}

function networkWords(target: string): string {
  return `network access to ${target} is not allowed in this sandbox; ${facts.allowed === '' ? 'no host is allowed' : `allowed: ${facts.allowed}`}`;
}

/** The sandbox's words for Deno's permission error, or undefined when `message` is not one. */
function permissionWords(message: string): string | undefined {
  const found = exec(PERMISSION, message);
  if (found !== null) {
    const kind = found[1]!;
    const what = found[2];
    if (kind === 'net') {
      return networkWords(what !== undefined && startsWith(what, '"') ? slice(what, 1, what.length - 1) : what ?? 'the network');
    }
    if (kind === 'run' && what === undefined) return 'running or signalling other processes is not available in this sandbox';
    const subprocess = kind === 'env' || kind === 'run' ? childProcessCall() : undefined;
    if (subprocess !== undefined) return `running subprocesses is not available in this sandbox (tried ${subprocess})`;
    return `${ACCESS[kind] ?? `${kind} access is`} not available in this sandbox${tried(what)}`;
  }
  const custom = exec(CUSTOM, message);
  if (custom === null) return undefined;
  const kind = custom[2]!;
  return custom[1] !== undefined
    ? `${custom[1]} is not available in this sandbox`
    : `${ACCESS[kind] ?? `${kind} access is`} not available in this sandbox`;
}

/**
 * The node:child_process call a denial came from, if it did: it reads the environment (refused)
 * before it would spawn, so the denial names the call, not the variable.
 */
function childProcessCall(): string | undefined {
  const frames = callSites();
  let call: string | undefined;
  for (let i = 0; i < frames.length; i += 1) {
    const file = frames[i]!.getFileName() ?? '';
    if (file === 'ext:deno_node/child_process.ts') call = `child_process.${frames[i]!.getFunctionName() ?? 'spawn'}`;
    else if (call === undefined && file === 'ext:deno_node/internal/child_process.ts') call = 'node:child_process';
  }
  return call;
}

function importWords(message: string): string | undefined {
  const lineEnd = indexOf(message, '\n');
  const first = lineEnd < 0 ? message : slice(message, 0, lineEnd);
  for (let i = 0; i < IMPORTS.length; i += 1) {
    const found = exec(IMPORTS[i]![0], first);
    if (found === null) continue;
    const what = found[1] === undefined ? undefined : startsWith(found[1], '"') ? found[1] : `"jsr:${found[1]}"`;
    // Where the import was (`\n    at <module>:line:col`), as stacks name it.
    const rest = lineEnd < 0 ? '' : named(slice(message, lineEnd));
    return `${IMPORTS[i]![1]}${tried(what)}${CAN_IMPORT}${rest}`;
  }
  return undefined;
}

/** Why a module at `url` (absolute) cannot be loaded here, in the words of an import denial. */
export function importDenial(url: string): string {
  const colon = indexOf(url, ':');
  const scheme = colon < 0 ? url : slice(url, 0, colon + 1);
  const what = scheme === 'file:' ? 'files' : scheme === 'http:' || scheme === 'https:' ? 'remote modules' : `${scheme} modules`;
  return `importing ${scheme === 'npm:' || scheme === 'jsr:' ? `${scheme} packages` : what} is not available in this sandbox`;
}

function setMessage(error: object, message: string): void {
  defineProperty(error, 'message', own({ value: message, writable: true, enumerable: false, configurable: true }));
}

/**
 * Words `error` for the sandbox if it is one of Deno's denials; a refused spawn becomes a
 * NotCapable. Returns the class name it now has, or undefined when it was left as it was.
 * Never throws: it runs inside Deno's building of an error.
 */
export function reword(error: unknown): string | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  try {
    const message = ownValue(error, 'message');
    if (typeof message !== 'string') return undefined;
    if (isPrototypeOf(NotCapable.prototype, error)) {
      const words = permissionWords(message);
      if (words === undefined) return undefined;
      setMessage(error, words);
      return 'NotCapable';
    }
    if (isPrototypeOf(NotFound.prototype, error)) {
      const spawn = exec(SPAWN, message);
      if (spawn === null) return undefined;
      setMessage(error, `running subprocesses is not available in this sandbox (tried "${spawn[1]!}")`);
      setPrototypeOf(error, NotCapable.prototype);
      // Deno adds `code: "ENOENT"` afterwards unless the error has a `code`: no file was missing.
      defineProperty(error, 'code', own({ value: undefined, writable: true, enumerable: false, configurable: true }));
      if (hasOwn(error, 'name')) defineProperty(error, 'name', own({ value: 'NotCapable', writable: true, enumerable: true, configurable: true }));
      return 'NotCapable';
    }
    if (isPrototypeOf(TypeErrorClass.prototype, error)) {
      const words = importWords(message);
      if (words === undefined) return undefined;
      setMessage(error, words);
      return 'TypeError';
    }
  } catch {
    // A Proxy or a frozen error of the script's own: left as it is.
  }
  return undefined;
}

/**
 * Replaces `prototype.name` (a data property, or none: then Error's is inherited) by an accessor
 * that reads and writes like it, and words each error first (`reword`): on the write of an error's
 * class constructor (`this.name = …`), or on a read (`onRead`).
 */
function watchName(prototype: object, onRead: boolean): void {
  const inherited = getPrototypeOf(prototype) as object;
  const before = ownValue(prototype, 'name');
  let assigned: unknown = before;
  let isAssigned = hasOwn(prototype, 'name');
  defineProperty(prototype, 'name', own({
    get(this: unknown) {
      if (onRead && this !== prototype) reword(this);
      return isAssigned ? assigned : reflectGet(inherited, 'name', this);
    },
    set(this: unknown, value: unknown) {
      if (this === prototype) {
        assigned = value;
        isAssigned = true;
        return;
      }
      const renamed = onRead ? undefined : reword(this);
      defineProperty(this as object, 'name', own({ value: renamed ?? value, writable: true, enumerable: true, configurable: true }));
    },
    enumerable: false,
    configurable: false,
  }));
}

/**
 * Words node:dns's refused lookup when it assigns `syscall`, its last word on the error. Assigning
 * `syscall` on Error.prototype itself puts back a plain property (the script asked for that).
 */
function watchNodeLookups(): void {
  const prototype = ErrorClass.prototype;
  defineProperty(prototype, 'syscall', own({
    get: () => undefined,
    set(this: unknown, value: unknown) {
      const data = own({ value, writable: true, enumerable: this !== prototype, configurable: true });
      defineProperty(this as object, 'syscall', data);
      if (this === prototype || value !== 'getaddrinfo' || ownValue(this as object, 'code') !== 'EPERM') return;
      const message = ownValue(this as object, 'message');
      const found = typeof message === 'string' ? exec(NODE_LOOKUP, message) : null;
      if (found !== null) setMessage(this as object, networkWords(found[1]!));
    },
    enumerable: false,
    configurable: true,
  }));
}

/** Installs the wording in this realm. */
export function wordDenials(): void {
  watchName(NotCapable.prototype, false);
  watchName(NotFound.prototype, false);
  watchName(TypeErrorClass.prototype, true);
  watchNodeLookups();
}
