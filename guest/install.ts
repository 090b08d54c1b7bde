/**
 * Installs the script's globals that are built on first use: `apify`, `tools` and `files`, whose
 * modules are compiled only then (lazy.ts). Each is a getter without a setter, so it is the same
 * object every time, it cannot be replaced, and assigning to it throws in a module. Installed
 * before the envelope arrives, each takes its part of it (`config()`) at its first use.
 */
import type { BindingConfig } from './binding.ts';
import type { FilesConfig } from './files.ts';
import type { ToolsConfig } from './tools.ts';
import { builtins } from './builtins.ts';
import { loadBinding, loadFiles, loadTools } from './lazy.ts';

// Captured before any user code runs.
const { defineProperty } = builtins;

function onFirstUse(target: typeof globalThis, name: string, build: () => object): void {
  let value: object | undefined;
  defineProperty(target, name, { get: () => (value ??= build()), enumerable: false, configurable: false });
}

export function installApify(target: typeof globalThis, config: () => BindingConfig): void {
  onFirstUse(target, 'apify', () => loadBinding()(config()));
}

export function installTools(target: typeof globalThis, config: () => ToolsConfig): void {
  onFirstUse(target, 'tools', () => loadTools()(config()));
}

export function installFiles(target: typeof globalThis, config: () => FilesConfig): void {
  onFirstUse(target, 'files', () => loadFiles()(config()));
}
