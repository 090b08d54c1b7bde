/**
 * How the code-runtime Actor sizes a run around its script: facts the Actor entry (which runs one
 * script) and remote mode (which starts the Actor) must agree on, so they live below both.
 */

/** Memory the Actor's own Node.js process needs (the SDK, buffers, the item), besides the sandbox. */
export const ORCHESTRATOR_MBYTES = 160;
/** Time kept after the script's deadline to push its item and save its streams. */
export const RESULT_MARGIN_SECS = 30;
