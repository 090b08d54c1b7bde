/**
 * The types of the sandbox's egress: the origins an operator lets a script's plain `fetch` reach,
 * with the headers added on the way out (which the script never sees), and the record of each
 * request in the run's result. Validated in `orchestrator/config/egress.ts`; the relay
 * (`orchestrator/relay/egress-*.ts`) is the one gate every request goes through. docs/egress.md
 * says the rules for users.
 */

/** What an allowed origin gets on the way out. */
export interface EgressOrigin {
  /**
   * Headers the relay adds to every request to this origin (and to no other), replacing any the
   * script set with the same name, e.g. `{ "Authorization": "Bearer ${GITHUB_TOKEN}" }`. `${VAR}`
   * expands from the orchestrator's environment. Every value is a secret: it never enters the
   * sandbox and is scrubbed (in every encoding) from everything the script can read.
   */
  headers?: Record<string, string>;
}

/**
 * The origins a script's `fetch` may reach, each `scheme://host[:port]`, optionally narrowed by a
 * path prefix (`https://api.github.com/repos/acme`), mapped to what it gets on the way out
 * (`{}` for nothing). `${VAR}` expands in the keys too (they are not secrets: a script's errors list them).
 * A name must resolve to public addresses only; an IP literal is taken as the operator's choice.
 */
export type EgressOrigins = Record<string, EgressOrigin>;

/** One request a script made through the egress gate, as the run's result lists it. */
export interface EgressRequestRef {
  /** The origin it went to, e.g. `https://api.github.com`. */
  origin: string;
  /** `GET`, `POST`, … */
  method: string;
  /** The origin's HTTP status; 0 when there was none (refused by the gate, unreachable, cut off before its answer). */
  status: number;
  /** Body bytes both ways: what the script sent plus what it was sent back (decoded, as far as it got). */
  bytes: number;
}
