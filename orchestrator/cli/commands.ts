/**
 * The CLI's subcommands (`code-runtime <name> ...`), each loaded only when called so the script
 * runner never pays for them. Only a bare first argument matches: a script file literally named
 * like a subcommand still runs as `./name`.
 */

/** A subcommand: its arguments after the name in, the process's exit code out. */
export interface Subcommand {
  main(argv: string[]): Promise<number>;
}

export const SUBCOMMANDS: Record<string, () => Promise<Subcommand>> = {
  mcp: async () => (await import('./serve.js')).mcpCommand,
  serve: async () => (await import('./serve.js')).serveCommand,
};
