// Registration tokens over the MAS admin API (/user-registration-tokens, MAS 0.17 and later). The
// API has no lookup by token text, so a token named by its text is found by listing them all (an
// install has tens of tokens, not thousands).
import type { MasRegistrationToken, NewRegistrationToken } from '../model.js';
import type { AdminApiClient } from './admin-client.js';
import { toRegistrationToken } from './resources.js';
import { tokenExists, tokenNotFound } from '../registration-token-rules.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/i;
const SINCE = '0.17';

export function listTokens(api: AdminApiClient): Promise<MasRegistrationToken[]> {
  return api.list({ path: ['user-registration-tokens'], action: 'listing the registration tokens', since: SINCE }, toRegistrationToken);
}

export async function findToken(api: AdminApiClient, ref: { id?: string; token?: string }): Promise<MasRegistrationToken | undefined> {
  if (ref.id !== undefined && ULID.test(ref.id)) {
    const byId = await api.one({ method: 'GET', path: ['user-registration-tokens', ref.id.toUpperCase()], action: `looking up the registration token ${ref.id}`, accept: [404], since: SINCE }, toRegistrationToken);
    if (byId !== undefined) return byId;
  }
  const text = ref.token;
  if (text === undefined) return undefined;
  return (await listTokens(api)).find((t) => t.token.reveal() === text);
}

export async function issueToken(api: AdminApiClient, t: NewRegistrationToken): Promise<MasRegistrationToken> {
  const issued = await api.one(
    {
      method: 'POST',
      path: ['user-registration-tokens'],
      // Always explicit: the admin API's default usage_limit is "unlimited", mas-cli's is 1.
      body: { usage_limit: t.usageLimit, expires_at: t.expiresAt, ...(t.token !== undefined ? { token: t.token } : {}) },
      action: 'issuing a registration token',
      accept: [409],
      since: SINCE,
    },
    toRegistrationToken,
  );
  if (issued === undefined) throw tokenExists();
  return issued;
}

export async function setRevoked(api: AdminApiClient, id: string, revoked: boolean): Promise<MasRegistrationToken> {
  const action = `${revoked ? 'revoking' : 'unrevoking'} the registration token ${id}`;
  const token = await api.one({ method: 'POST', path: ['user-registration-tokens', id, revoked ? 'revoke' : 'unrevoke'], action, accept: [404], since: SINCE }, toRegistrationToken);
  if (token === undefined) throw tokenNotFound(id);
  return token;
}
