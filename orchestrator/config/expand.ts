/**
 * `${VAR}` expansion, in one place: `${NAME}` is the orchestrator's environment variable NAME and
 * `${NAME:-fallback}` uses the fallback when NAME is unset or empty, as Claude Code's `.mcp.json`
 * does. A variable that is unset with no fallback is an error naming the key and the variable.
 * Every value taken from the environment is collected, so the relay can scrub it from what tools
 * return. Nothing else is special: a lone `$` or `{` stays as written.
 */
import { ConfigError } from './error.js';

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface Expander {
  /** `text` with every reference replaced; `key` names it in errors. */
  expand(text: string, key: string): string;
  /** Every non-empty value taken from the environment so far. */
  readonly expanded: ReadonlySet<string>;
}

export function createExpander(env: NodeJS.ProcessEnv): Expander {
  const expanded = new Set<string>();
  return {
    expanded,
    expand(text, key) {
      return text.replace(REFERENCE, (_whole, name: string, fallback: string | undefined) => {
        const value = env[name];
        if (value !== undefined && value !== '') {
          expanded.add(value);
          return value;
        }
        if (fallback !== undefined) return fallback;
        throw new ConfigError(`\`${key}\` uses \${${name}}, which is not set in the orchestrator's environment; set it, or write \${${name}:-fallback}`);
      });
    },
  };
}
