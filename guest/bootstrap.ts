/**
 * The guest's entry point, run by `deno run` inside the sandbox (from the bundle's loader, see
 * scripts/bundle-guest.mjs). It prepares the realm (hidden host, denials worded for the sandbox,
 * stacks naming the script, the same in every Worker), reads the envelope from stdin, installs the
 * script's globals (`apify`, `tools`, `files`, its `fetch`; each module behind them is compiled on
 * the script's first use, lazy.ts) and runs the script as its own module, whose default export,
 * once settled, is the run's value (value.ts). Everything is set up before the envelope
 * arrives but what needs it: a warm child waits with all of that done.
 * Invariant: whatever the guest relies on after the script starts was captured before it did, and
 * its reports carry the run's secret, so a script cannot forge one (run.ts).
 */
import { type Envelope, readEnvelope } from './envelope.ts';
import { exitWhenDone } from './exit.ts';
import { installApify, installFiles, installTools } from './install.ts';
import { installEgress } from './network.ts';
import { errorRecord, valuePending } from './value.ts';
import { prepareRealm } from './realm.ts';
import { Run } from './run.ts';

const arriving = readEnvelope();
// This realm and every Worker the script starts: host hidden, denials worded, stacks naming the script.
const realm = prepareRealm();
// The run, empty until its envelope arrives: what is set up below reports through it.
const run = new Run(realm);
const uncaught = realm.watchUncaught((kind, error, event) => run.fail(kind, error, event));
// Ends the process once the script is done; errors still waiting for their report go first.
exitWhenDone(() => run.code, (exitCode) => {
  if (valuePending()) run.record(errorRecord('The default export is a promise that never settled, so the run has no value'));
  uncaught.flush();
  run.end(exitCode);
});
// The script's globals, in place before the envelope arrives (a warm child waits with them ready);
// each takes its part of the envelope at its first use, once the script runs.
const arrived: { envelope?: Envelope } = {};
const part = <T>(pick: (envelope: Envelope) => T) => () => pick(arrived.envelope!);
installApify(globalThis, part((envelope) => envelope.apify));
installTools(globalThis, part((envelope) => envelope.tools));
// An envelope without them (an older orchestrator) leaves the script no network at all.
installEgress(globalThis, part((envelope) => envelope.egress ?? { url: '' }), part((envelope) => envelope.allowedOrigins ?? []));
installFiles(globalThis, part((envelope) => envelope.files));
// V8 compiles Deno's code on its first use: pay that now for what every run does after its envelope
// (a typed Blob and its URL, text encoding, console.log's formatting, the end's beforeunload and
// unload events), not once the script has arrived (~0.5 ms of a warm run's latency).
URL.revokeObjectURL(URL.createObjectURL(new Blob([''], { type: 'application/typescript' })));
new TextEncoder().encode('warm');
Deno.inspect(1);
{
  const target = new EventTarget();
  target.addEventListener('warm', () => {});
  target.dispatchEvent(new Event('warm'));
}

arrived.envelope = await arriving;
run.begin(arrived.envelope);
run.start();
