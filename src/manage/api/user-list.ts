// list-users and show-user over the MAS admin API. GET /users filters by admin flag, guest flag,
// status and a username substring; addresses have only an exact filter, so a search that should
// also match part of an address pages through every address (MAS has no substring filter there).
// Each listed user then costs one request for its addresses and one count per session kind.
import type { MasSession, MasUser, SessionCounts, UserFilter, UserPage, UserSummary } from '../model.js';
import type { AdminApiClient } from './admin-client.js';
import { toEmail, toSession, toUser, type ApiResource } from './resources.js';
import { SESSION_COLLECTIONS } from './sessions.js';

interface Listed {
  user: MasUser;
  guest: boolean;
}

const listed = (r: ApiResource): Listed => ({ user: toUser(r), guest: r.attributes.legacy_guest === true });

/** The filters the API applies itself; everything is checked again here (see matches). */
function serverQuery(filter: UserFilter): Array<readonly [string, string]> {
  const q: Array<readonly [string, string]> = [];
  if (filter.admin !== undefined) q.push(['filter[admin]', String(filter.admin)]);
  if (filter.guest !== undefined) q.push(['filter[legacy-guest]', String(filter.guest)]);
  // One status at most; "locked" also returns deactivated users, so the flags are checked below.
  if (filter.deactivated === true) q.push(['filter[status]', 'deactivated']);
  else if (filter.locked === true) q.push(['filter[status]', 'locked']);
  else if (filter.locked === false && filter.deactivated === false) q.push(['filter[status]', 'active']);
  return q;
}

function matches(l: Listed, filter: UserFilter): boolean {
  const u = l.user;
  return (
    (filter.admin === undefined || u.admin === filter.admin) &&
    (filter.guest === undefined || l.guest === filter.guest) &&
    (filter.locked === undefined || (u.lockedAt !== null) === filter.locked) &&
    (filter.deactivated === undefined || (u.deactivatedAt !== null) === filter.deactivated)
  );
}

const byId = (a: Listed, b: Listed): number => (a.user.id < b.user.id ? -1 : a.user.id > b.user.id ? 1 : 0);

export async function listUsers(api: AdminApiClient, filter: UserFilter, limit: number): Promise<UserPage> {
  const query = serverQuery(filter);
  let found: Listed[] = [];
  let total: number | undefined;
  if (filter.search === undefined) {
    // Stop as soon as there is one more than asked.
    for await (const page of api.pages({ path: ['users'], query, action: 'listing users' }, listed)) {
      if (total === undefined && filter.locked === undefined && filter.deactivated === undefined) total = page.count;
      found.push(...page.items.filter((l) => matches(l, filter)));
      if (found.length > limit) break;
    }
  } else {
    const needle = filter.search.toLowerCase();
    const byName = await api.list({ path: ['users'], query: [...query, ['filter[search]', filter.search]], action: `searching users for "${filter.search}"` }, listed);
    const ids = new Set(byName.map((l) => l.user.id));
    const holders = new Set<string>();
    for await (const page of api.pages({ path: ['user-emails'], action: `searching the addresses for "${filter.search}"` }, toEmail)) {
      for (const e of page.items) if (!ids.has(e.userId) && e.email.toLowerCase().includes(needle)) holders.add(e.userId);
    }
    const byEmail: Listed[] = [];
    for (const id of holders) {
      const l = await api.one({ method: 'GET', path: ['users', id], action: `looking up user ${id}`, accept: [404] }, listed);
      if (l !== undefined) byEmail.push(l);
    }
    found = [...byName, ...byEmail].filter((l) => matches(l, filter)).sort(byId);
    total = found.length;
  }
  const more = found.length > limit;
  const users: UserSummary[] = [];
  for (const l of found.slice(0, limit)) {
    const emails = await api.list({ path: ['user-emails'], query: [['filter[user]', l.user.id]], action: `listing the addresses of ${l.user.username}`, accept: [404] }, toEmail);
    users.push({ ...l.user, guest: l.guest, emails: emails.map((e) => e.email).sort(), activeSessions: await sessionCounts(api, l.user) });
  }
  return { users, more, ...(total !== undefined ? { total } : {}) };
}

async function sessionCounts(api: AdminApiClient, user: MasUser): Promise<SessionCounts> {
  const counts: SessionCounts = { compat: 0, oauth2: 0, browser: 0 };
  for (const [kind, collection] of SESSION_COLLECTIONS) {
    counts[kind] = await api.count({ path: [collection], query: [['filter[user]', user.id], ['filter[status]', 'active']], action: `counting the sessions of ${user.username}`, accept: [404] });
  }
  return counts;
}

export async function userSessions(api: AdminApiClient, user: { id: string; label: string }, includeFinished: boolean): Promise<MasSession[]> {
  const out: MasSession[] = [];
  for (const [kind, collection] of SESSION_COLLECTIONS) {
    const query: Array<readonly [string, string]> = [['filter[user]', user.id]];
    if (!includeFinished) query.push(['filter[status]', 'active']);
    out.push(...(await api.list({ path: [collection], query, action: `listing the sessions of ${user.label}`, accept: [404] }, (r) => toSession(kind, r))));
  }
  const at = (s: MasSession): number => (s.lastActiveAt === null ? -1 : Date.parse(s.lastActiveAt));
  return out.sort((a, b) => at(b) - at(a) || Date.parse(b.createdAt) - Date.parse(a.createdAt));
}
