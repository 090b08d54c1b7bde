/**
 * Installs the global `apify`, built on first use (lazy-binding.ts): a getter without a setter, so it
 * is the same frozen object every time, it cannot be replaced, and assigning to it throws in a module.
 */
import type { ApifyBinding } from '../types/apify.d.ts';
import type { BindingConfig } from './binding.ts';
import { builtins } from './builtins.ts';
import { loadBinding } from './lazy-binding.ts';

// Captured before any user code runs.
const { defineProperty } = builtins;

export function installApify(target: typeof globalThis, config: BindingConfig): void {
  let binding: ApifyBinding | undefined;
  defineProperty(target, 'apify', { get: () => (binding ??= loadBinding()(config)), enumerable: false, configurable: false });
}
