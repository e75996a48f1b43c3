// The report's session figures as first written: one query over the tables a migration wrote. Kept
// as the reference the streamed figures are compared with, so that they never change with the way
// they are computed.
import type pg from 'pg';

export async function sessionFiguresOfTables(client: pg.Client): Promise<Record<string, number>> {
  const { rows } = await client.query<Record<string, number>>(`
    WITH working AS (
      SELECT DISTINCT s.compat_session_id, s.user_id FROM compat_sessions s JOIN compat_access_tokens t ON t.compat_session_id = s.compat_session_id)
    SELECT (SELECT count(*) FROM compat_sessions)::int AS "compatSessions",
           (SELECT count(*) FROM working)::int AS "withTokens",
           (SELECT count(DISTINCT user_id) FROM working)::int AS "usersKeepingSessions",
           (SELECT count(*) FROM users u WHERE u.deactivated_at IS NULL AND u.locked_at IS NULL AND NOT u.is_guest
              AND NOT EXISTS (SELECT 1 FROM working w WHERE w.user_id = u.user_id))::int AS "usersWithoutSessions",
           (SELECT count(*) FROM compat_sessions WHERE is_synapse_admin)::int AS "adminSessions"`);
  const figures = rows[0];
  if (figures === undefined) throw new Error('the reference query returned no row');
  return figures;
}
