/**
 * Every secret value of a configuration, for the relay's scrubber: what `${VAR}` took from the
 * environment, every header value (and the credential after a scheme word such as `Bearer`), every
 * env value of a stdio server, and a URL's password. Longest first, each once.
 */

/** `Bearer abc…` → `abc…`: a tool that echoes only the credential must not show it either. */
function credentialOf(headerValue: string): string | undefined {
  const match = /^\s*[A-Za-z][\w-]*\s+(\S.*)$/.exec(headerValue);
  return match?.[1]?.trim();
}

export class SecretList {
  readonly #values = new Set<string>();

  add(value: string | undefined): void {
    const trimmed = value?.trim();
    if (trimmed) this.#values.add(trimmed);
  }

  addHeader(value: string): void {
    this.add(value);
    this.add(credentialOf(value));
  }

  addAll(values: Iterable<string>): void {
    for (const value of values) this.add(value);
  }

  /** Longest first, so a secret that contains another is replaced whole. */
  list(): string[] {
    return [...this.#values].sort((a, b) => b.length - a.length);
  }
}
