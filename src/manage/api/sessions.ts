// Ending a user's sessions over the MAS admin API: each kind has its own collection, and /finish
// (MAS 1.4 and later) ends one session at a time.
import type { ActiveSessions, SessionKind } from '../model.js';
import type { AdminApiClient, UserLabel } from './admin-client.js';
import { AdminApiError } from './errors.js';

/** The session kinds, their collections in the admin API, and what a message calls one. */
export const SESSION_COLLECTIONS: ReadonlyArray<readonly [SessionKind, string, string]> = [
  ['compat', 'compat-sessions', 'compatibility session'],
  ['oauth2', 'oauth2-sessions', 'OAuth 2.0 session'],
  ['browser', 'user-sessions', 'browser session'],
];

export async function activeSessions(api: AdminApiClient, userId: string, label: UserLabel): Promise<ActiveSessions> {
  const out: ActiveSessions = { compat: [], oauth2: [], browser: [] };
  for (const [kind, collection, name] of SESSION_COLLECTIONS) {
    out[kind] = await api.list(
      { path: [collection], query: [['filter[user]', userId], ['filter[status]', 'active']], action: `listing the active ${name}s of ${label(userId)}`, accept: [404] },
      (r) => r.id,
    );
  }
  return out;
}

export async function finishSessions(api: AdminApiClient, userId: string, sessions: ActiveSessions, label: UserLabel): Promise<void> {
  for (const [kind, collection, name] of SESSION_COLLECTIONS) {
    for (const id of sessions[kind]) {
      const r = await api.request({
        method: 'POST',
        path: [collection, id, 'finish'],
        action: `ending the ${name} ${id} of ${label(userId)}`,
        since: '1.4',
        accept: [400],
      });
      // Finished by someone else since we listed it: what we wanted. Any other 400 is an error.
      if (r.status === 400 && !/already finished/i.test(r.titles ?? '')) {
        throw new AdminApiError('MAS_TOOL_ADMIN_API_BAD_REQUEST', `MAS refused ending the ${name} ${id} (400${r.titles !== undefined ? `: ${r.titles}` : ''}).`, {
          status: 400,
          ...(r.titles !== undefined ? { titles: r.titles } : {}),
        });
      }
    }
  }
}
