/** How the guest names its own code in frames (scripts/bundle-guest.mjs, realm.ts): frames so named are dropped from stacks. */
export const GUEST_SOURCE = 'code-runtime-guest:';
/** The realm code's name, in the main realm and in every Worker. */
export const GUEST_REALM_NAME = `${GUEST_SOURCE}realm.js`;
