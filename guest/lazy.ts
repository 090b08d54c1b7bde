/**
 * Where the modules a script may never use come from when it first needs them: the `apify` binding
 * (binding.ts), `tools` (tools.ts), `files` (files.ts) and the `fetch` through the relay
 * (egress.ts). From the sources they are imported as usual; in the bundle (scripts/bundle-guest.mjs)
 * this module is replaced by one that compiles each from a string of its own only then, so a script
 * that never uses one never pays for parsing or running it (measured: ~1.2 ms of CPU per run for
 * the binding; docs/speed.md has the others).
 */
import { type BindingConfig, createBinding } from './binding.ts';
import { createEgress } from './egress.ts';
import { createFiles } from './files.ts';
import { createTools } from './tools.ts';
import type { ApifyBinding } from '../types/apify.d.ts';

export const loadBinding = (): (config: BindingConfig) => ApifyBinding => createBinding;
export const loadTools = (): typeof createTools => createTools;
export const loadFiles = (): typeof createFiles => createFiles;
export const loadEgress = (): typeof createEgress => createEgress;
