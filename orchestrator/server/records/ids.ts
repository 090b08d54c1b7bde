/**
 * Execution ids. Without a record store an id is `exe_` and 24 random characters (18 bytes,
 * base64url), as ever. With one it also names where its records are: `exe_<home>_<secret>`, the
 * home being the record store's id (letters and digits) and the secret the same 24 random
 * characters. Only the secret makes an id unguessable, so records are keyed and encrypted by it
 * (`codec.ts`): a store readable by anyone who knows its id shows nothing about any execution.
 */
import { createHash, randomBytes } from 'node:crypto';

const SECRET_BYTES = 18;
const SECRET = '[A-Za-z0-9_-]{24}';
const PLATFORM_ID = new RegExp(`^exe_([A-Za-z0-9]{1,64})_(${SECRET})$`);
export const HOME = /^[A-Za-z0-9]{1,64}$/;

export interface ParsedId {
  /** Where its records are; undefined for an id made without a record store. */
  home?: string;
  secret: string;
}

export function newSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

/** A new id; with `home`, one that says where its records are. */
export function newExecutionId(home?: string): string {
  return home === undefined ? `exe_${newSecret()}` : `exe_${home}_${newSecret()}`;
}

/** The home and secret of an id that names a home; undefined for any other string. */
export function parseExecutionId(id: string): ParsedId | undefined {
  const match = PLATFORM_ID.exec(id);
  return match ? { home: match[1]!, secret: match[2]! } : undefined;
}

/**
 * The key of an execution's record: a hash of its secret, so that listing a store's keys gives no id
 * away. Key-value store keys allow letters, digits and `!-_.'()`; base64url fits.
 */
export function recordKey(secret: string): string {
  return `exe-${createHash('sha256').update(`code-runtime execution record key\0${secret}`).digest('base64url').slice(0, 32)}`;
}
