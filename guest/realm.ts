/**
 * Prepares this realm with the realm code (guest/realm/), which runs first in the main realm and in
 * every Worker. It is built as text of its own (scripts/bundle-guest.mjs), which the loader hands
 * the core as `guestRealmSource`: run here with `new Function`, and the same text for each Worker.
 */
import type { Realm } from './realm/realm.ts';
import { GUEST_REALM_NAME } from './realm/names.ts';

export type { Kind, Realm } from './realm/realm.ts';

/** The realm code's text (undeclared when run from the sources, which is not supported). */
declare const guestRealmSource: string;

/** Prepares the realm; frames of the module that loaded the guest (`import.meta.url`) are the guest's too. */
export function prepareRealm(): Realm {
  const prepare = new Function('guestRealmSource', 'guestHiddenUrls', `${guestRealmSource}\n//# sourceURL=${GUEST_REALM_NAME}`);
  return prepare(guestRealmSource, [import.meta.url]) as Realm;
}
