// What an OAuth 2.0 session's scope says about it, the same whether the scope comes from MAS's
// oauth2_sessions.scope_list or from the admin API's space-separated `scope`.

/** The Matrix device scope, stable and unstable (MSC2967) prefixes. */
const DEVICE_SCOPES = ['urn:matrix:client:device:', 'urn:matrix:org.matrix.msc2967.client:device:'];

/** The scope that makes a token a Synapse admin token. */
export const SYNAPSE_ADMIN_SCOPE = 'urn:synapse:admin:*';

/** The Matrix device a scope names, if any. */
export function deviceOfScope(scope: readonly string[]): string | null {
  for (const token of scope) {
    const prefix = DEVICE_SCOPES.find((p) => token.startsWith(p));
    if (prefix !== undefined) return token.slice(prefix.length);
  }
  return null;
}
