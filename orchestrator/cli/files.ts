/**
 * The CLI's files: `--file NAME=PATH` (or `--file PATH`, named by its base name) read into the
 * run's input files, and `--files-out DIR` where the files the script wrote are saved (the folder is
 * made when missing; a name is always plain, so a file lands inside DIR, and an existing symlink
 * there is never followed). Mistakes are usage errors naming the flag, the file and the limit.
 */
import { constants } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileNameProblem, mib } from '../run/files.js';
import type { OutputFile } from '../../types/result.js';
import { UsageError } from './flags.js';

/** `NAME=PATH` when what comes before `=` is a plain name, else the whole of it is a path named by its base name. */
export function parseFileSpec(spec: string): { name: string; file: string } {
  const eq = spec.indexOf('=');
  if (eq > 0 && fileNameProblem(spec.slice(0, eq)) === undefined && eq < spec.length - 1) {
    return { name: spec.slice(0, eq), file: spec.slice(eq + 1) };
  }
  return { name: path.basename(spec), file: spec };
}

/** Reads every `--file` into input files, checking names and sizes before reading a byte. */
export async function readInputFiles(specs: readonly string[], limits: { maxFileBytes: number; maxFilesInBytes: number }): Promise<Record<string, Uint8Array>> {
  // Null-prototype: a file named `__proto__` is a key like any other.
  const files = Object.create(null) as Record<string, Uint8Array>;
  let total = 0;
  for (const spec of specs) {
    const { name, file } = parseFileSpec(spec);
    const problem = fileNameProblem(name);
    if (problem) throw new UsageError(`--file ${spec}: ${problem}; give it another name with --file NAME=${file}`);
    if (Object.hasOwn(files, name)) throw new UsageError(`--file ${spec}: there is already an input file named ${name}; give one another name with --file NAME=PATH`);
    let size: number;
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new UsageError(`--file ${spec}: ${file} is not a file`);
      size = info.size;
    } catch (error) {
      if (error instanceof UsageError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw new UsageError(`--file ${spec}: cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
    if (size > limits.maxFileBytes) {
      throw new UsageError(`--file ${spec}: ${file} is ${mib(size)}, over the limit of ${mib(limits.maxFileBytes)} per file (--max-file-bytes)`);
    }
    total += size;
    if (total > limits.maxFilesInBytes) {
      throw new UsageError(`--file ${spec}: the input files come to ${mib(total)}, over the limit of ${mib(limits.maxFilesInBytes)} in all (--max-files-in-bytes)`);
    }
    const handle = await open(file, 'r');
    try {
      files[name] = await handle.readFile();
    } finally {
      await handle.close();
    }
  }
  return files;
}

/** Saves the script's files in `dir` (made when missing); returns where each one went. */
export async function saveOutputFiles(dir: string, files: readonly OutputFile[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const saved: string[] = [];
  for (const file of files) {
    // The relay admits only plain names; checked again, as this is the one place a name meets a disk.
    if (fileNameProblem(file.name)) throw new Error(`refusing to save a file named ${JSON.stringify(file.name)}`);
    const where = path.join(dir, file.name);
    // O_NOFOLLOW: a symlink already in DIR under that name is an error, not a way out of DIR.
    const handle = await open(where, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
    try {
      await handle.writeFile(file.bytes);
    } finally {
      await handle.close();
    }
    saved.push(where);
  }
  return saved;
}

/** The files as `--json` lists them: no bytes; where each was saved, with `--files-out`. */
export function listedFiles(files: readonly OutputFile[], saved?: readonly string[]): Array<Omit<OutputFile, 'bytes'> & { path?: string }> {
  return files.map(({ name, contentType, size }, index) => ({ name, contentType, size, ...(saved ? { path: saved[index] } : {}) }));
}

/** One line naming files the script wrote that nobody asked to save: they would be lost without a word. */
export function unsavedNote(files: readonly OutputFile[]): string {
  const names = files.slice(0, 5).map((file) => `${file.name} (${mib(file.size)})`).join(', ');
  const more = files.length > 5 ? ` and ${files.length - 5} more` : '';
  return `[code-runtime] the script wrote ${files.length} file${files.length === 1 ? '' : 's'}: ${names}${more}; pass --files-out DIR to save them\n`;
}
