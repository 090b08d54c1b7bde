/**
 * Where the `apify` binding comes from when a script first touches it. From the sources it is
 * binding.ts, imported as usual; in the bundle (scripts/bundle-guest.mjs) this module is replaced by
 * one that compiles binding.ts and its modules from a string only then, so a script that never uses
 * `apify` never pays for parsing or running them (measured: ~1.2 ms of CPU per run).
 */
import { type BindingConfig, createBinding } from './binding.ts';
import type { ApifyBinding } from '../types/apify.d.ts';

export function loadBinding(): (config: BindingConfig) => ApifyBinding {
  return createBinding;
}
