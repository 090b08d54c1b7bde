/**
 * What a realm knows of the run it serves: the script's name and module URL (so stacks name the
 * script) and the origins the sandbox lets it reach (so a denial says what is allowed). The main
 * realm learns them when the envelope arrives; a Worker gets them from the realm that created it.
 * Until then they are neutral: nothing of the script's runs before they are set.
 */
import { replaced } from './captured.ts';

export interface RealmFacts {
  /** The name stacks show for the script (the envelope's scriptName). */
  scriptName: string;
  /** The URL the script's module was loaded from (a blob: URL), shown as `scriptName`. */
  moduleUrl: string;
  /** Origins a script may reach over the network, e.g. `https://api.apify.com`. */
  allowedOrigins: readonly string[];
}

/** Null-prototype: read by realm code as own properties only. */
export const facts = { __proto__: null, scriptName: 'script.ts', moduleUrl: '', allowed: '', json: '' } as unknown as {
  scriptName: string;
  moduleUrl: string;
  /** `allowedOrigins` as the words of a denial. */
  allowed: string;
  /** All of them as JSON, as a Worker created from this realm is handed them. */
  json: string;
};

/** Called before any code of the script's runs in this realm (`join` and `JSON` are still the builtins). */
export function settle(next: RealmFacts): void {
  facts.scriptName = next.scriptName;
  facts.moduleUrl = next.moduleUrl;
  facts.allowed = next.allowedOrigins.join(', ');
  facts.json = JSON.stringify({ scriptName: next.scriptName, moduleUrl: next.moduleUrl, allowedOrigins: next.allowedOrigins });
}

/** `text` with the script's module URL shown as the script's name, as every stack shows it. */
export function named(text: string): string {
  return facts.moduleUrl === '' ? text : replaced(text, facts.moduleUrl, facts.scriptName);
}
