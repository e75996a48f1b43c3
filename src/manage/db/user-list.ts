// list-users and show-user on the MAS database: users by filter with their addresses and active
// session counts in one statement, and one user's sessions of every kind.
import type { MasSession, SessionKind, UserFilter, UserPage, UserSummary } from '../model.js';
import { deviceOfScope, SYNAPSE_ADMIN_SCOPE } from '../scopes.js';
import { toUlid, toUuid } from './ids.js';
import type { MasSql } from './sql.js';
import { isoText, toMasUser, userColumns, type UserRow } from './users.js';

/** A LIKE pattern matching `text` anywhere, with LIKE's own wildcards in it taken literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

interface SummaryRow extends UserRow {
  is_guest: boolean;
  emails: string[];
  compat: number;
  oauth2: number;
  browser: number;
}

const WHERE = `($1::bool IS NULL OR u.can_request_admin = $1)
   AND ($2::bool IS NULL OR (u.locked_at IS NOT NULL) = $2)
   AND ($3::bool IS NULL OR (u.deactivated_at IS NOT NULL) = $3)
   AND ($4::bool IS NULL OR u.is_guest = $4)
   AND ($5::text IS NULL OR u.username ILIKE $5
        OR EXISTS (SELECT 1 FROM user_emails se WHERE se.user_id = u.user_id AND se.email ILIKE $5))`;

export async function listUsers(sql: MasSql, filter: UserFilter, limit: number): Promise<UserPage> {
  const values = [filter.admin ?? null, filter.locked ?? null, filter.deactivated ?? null, filter.guest ?? null, filter.search === undefined ? null : containsPattern(filter.search)];
  // One more than asked, to know whether there are more; the counts only for the rows returned.
  const { rows } = await sql.query<SummaryRow>(
    'listing users',
    `SELECT ${userColumns('u')}, u.is_guest,
            ARRAY(SELECT e.email FROM user_emails e WHERE e.user_id = u.user_id ORDER BY e.email) AS emails,
            (SELECT count(*) FROM compat_sessions s WHERE s.user_id = u.user_id AND s.finished_at IS NULL)::int AS compat,
            (SELECT count(*) FROM oauth2_sessions s WHERE s.user_id = u.user_id AND s.finished_at IS NULL)::int AS oauth2,
            (SELECT count(*) FROM user_sessions s WHERE s.user_id = u.user_id AND s.finished_at IS NULL)::int AS browser
       FROM users u
      WHERE ${WHERE}
      ORDER BY u.user_id
      LIMIT $6`,
    [...values, limit + 1],
  );
  const more = rows.length > limit;
  const users: UserSummary[] = rows.slice(0, limit).map((r) => ({
    ...toMasUser(r),
    guest: r.is_guest,
    emails: r.emails,
    activeSessions: { compat: r.compat, oauth2: r.oauth2, browser: r.browser },
  }));
  let total = users.length;
  if (more) {
    const counted = await sql.query<{ n: number }>('counting users', `SELECT count(*)::int AS n FROM users u WHERE ${WHERE}`, values);
    total = counted.rows[0]?.n ?? total;
  }
  return { users, more, total };
}

interface SessionRow {
  kind: SessionKind;
  id: string;
  device_id: string | null;
  scope_list: string[] | null;
  created_at: string;
  finished_at: string | null;
  last_active_at: string | null;
  last_active_ip: string | null;
  user_agent: string | null;
  synapse_admin: boolean | null;
  client_id: string | null;
  client_name: string | null;
  human_name: string | null;
}

export async function userSessions(sql: MasSql, userId: string, includeFinished: boolean): Promise<MasSession[]> {
  const active = includeFinished ? '' : 'AND s.finished_at IS NULL';
  const common = (alias: string) =>
    `${isoText(`${alias}.created_at`)} AS created_at, ${isoText(`${alias}.finished_at`)} AS finished_at, ${isoText(`${alias}.last_active_at`)} AS last_active_at,
     host(${alias}.last_active_ip) AS last_active_ip, ${alias}.user_agent, ${alias}.last_active_at AS sort_at`;
  const { rows } = await sql.query<SessionRow>(
    "listing a user's sessions",
    `SELECT 'compat' AS kind, s.compat_session_id::text AS id, s.device_id, NULL::text[] AS scope_list, ${common('s')},
            s.is_synapse_admin AS synapse_admin, NULL AS client_id, NULL AS client_name, s.human_name
       FROM compat_sessions s WHERE s.user_id = $1 ${active}
     UNION ALL
     SELECT 'oauth2', s.oauth2_session_id::text, NULL, s.scope_list, ${common('s')},
            $2 = ANY(s.scope_list), s.oauth2_client_id::text, c.client_name, NULL
       FROM oauth2_sessions s LEFT JOIN oauth2_clients c USING (oauth2_client_id) WHERE s.user_id = $1 ${active}
     UNION ALL
     SELECT 'browser', s.user_session_id::text, NULL, NULL, ${common('s')}, NULL, NULL, NULL, NULL
       FROM user_sessions s WHERE s.user_id = $1 ${active}
     ORDER BY sort_at DESC NULLS LAST, created_at DESC`,
    [toUuid(userId, 'user id'), SYNAPSE_ADMIN_SCOPE],
  );
  return rows.map((r) => {
    const session: MasSession = {
      kind: r.kind,
      id: toUlid(r.id),
      deviceId: r.kind === 'oauth2' ? deviceOfScope(r.scope_list ?? []) : r.device_id,
      createdAt: r.created_at,
      finishedAt: r.finished_at,
      lastActiveAt: r.last_active_at,
      lastActiveIp: r.last_active_ip,
      userAgent: r.user_agent,
      synapseAdmin: r.synapse_admin,
    };
    if (r.client_id !== null) session.clientId = toUlid(r.client_id);
    if (r.kind === 'oauth2') session.clientName = r.client_name;
    if (r.kind !== 'browser') session.humanName = r.human_name;
    return session;
  });
}
