/**
 * Every secret value of a configuration, for the relay's scrubber: what `${VAR}` took from the
 * environment, every header value (and the credential after a scheme word such as `Bearer`, and
 * each cookie's value of a `Cookie` header), every env value of a stdio server, and the values of
 * a server URL's query. Longest first, each once.
 */

/** `Bearer abc…` → `abc…`: a tool that echoes only the credential must not show it either. */
function credentialOf(headerValue: string): string | undefined {
  const match = /^\s*[A-Za-z][\w-]*\s+(\S.*)$/.exec(headerValue);
  return match?.[1]?.trim();
}

/** `a=1; session="xyz"` → `1`, `xyz`: a server that echoes or re-sets a cookie shows its value alone. */
function cookieValues(headerValue: string): string[] {
  return headerValue.split(';').map((pair) => {
    const eq = pair.indexOf('=');
    return eq < 0 ? '' : pair.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  });
}

export class SecretList {
  readonly #values = new Set<string>();

  add(value: string | undefined): void {
    const trimmed = value?.trim();
    if (trimmed) this.#values.add(trimmed);
  }

  /** A header's value as a secret, with the parts of it an echo may show alone (`name` tells a cookie). */
  addHeader(value: string, name = ''): void {
    this.add(value);
    this.add(credentialOf(value));
    if (name.toLowerCase() === 'cookie') this.addAll(cookieValues(value));
  }

  addAll(values: Iterable<string>): void {
    for (const value of values) this.add(value);
  }

  /** Longest first, so a secret that contains another is replaced whole. */
  list(): string[] {
    return [...this.#values].sort((a, b) => b.length - a.length);
  }
}
