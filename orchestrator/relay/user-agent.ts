/** How the relay names itself to the API; the only header of its own it sends besides the token. */
export const USER_AGENT = 'code-runtime-relay';
