/**
 * The envelope: what the orchestrator sends a child for its run, one JSON text on stdin after the
 * guest's own code (orchestrator/run/run.ts writes it). Read to its end, so the script then reads
 * end-of-file from stdin and never the envelope.
 */
import type { ToolsConfig } from './tools.ts';
import type { EgressConfig } from './egress.ts';
import type { FilesConfig } from './files.ts';

export interface Envelope {
  code: string;
  /** The run's secret, which tags the guest's records; taken as bytes and erased (run.ts). */
  secret: string;
  scriptName: string;
  /** Origins the sandbox lets the script reach, named by its network denials. */
  allowedOrigins: string[];
  apify: { url: string };
  /** The relay's URL again and the names of `tools.*` (tools.ts); nothing else of the tool servers. */
  tools: ToolsConfig;
  /** The relay, where the script's fetch to the allowed origins goes. */
  egress: EgressConfig;
  files: FilesConfig;
}

/** Stdin the bundle's loader read past the guest's own code: the envelope's first bytes (undeclared when run from the sources). */
declare const guestStdinHead: Uint8Array | undefined;

export async function readEnvelope(): Promise<Envelope> {
  // Plain reads, not `Deno.stdin.readable`, which would leave the stream locked for the script.
  const chunks: Uint8Array[] = typeof guestStdinHead === 'undefined' ? [] : [guestStdinHead];
  const buffer = new Uint8Array(1 << 16);
  let size = chunks[0]?.length ?? 0;
  for (;;) {
    const n = await Deno.stdin.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
    size += n;
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return JSON.parse(new TextDecoder().decode(all));
}
