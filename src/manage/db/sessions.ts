// A user's sessions: the three kinds `kill-sessions` ends (compatibility, OAuth 2.0, browser), and a
// new compatibility session with a token for issue-compat-token. Synapse learns about devices only
// through the sync-devices job, which sends it the devices of the sessions still active.
import { Secret } from '../../secret.js';
import { generateCompatAccessToken } from '../compat-token.js';
import type { ActiveSessions } from '../model.js';
import { newUlid, toUlid, toUuid } from './ids.js';
import { scheduleJobs, syncDevicesJob } from './jobs.js';
import { userNotFound, type MasSql } from './sql.js';

type Kind = keyof ActiveSessions;

const TABLES: Record<Kind, { table: string; id: string }> = {
  compat: { table: 'compat_sessions', id: 'compat_session_id' },
  oauth2: { table: 'oauth2_sessions', id: 'oauth2_session_id' },
  browser: { table: 'user_sessions', id: 'user_session_id' },
};
const KINDS = Object.keys(TABLES) as Kind[];

export async function activeSessions(sql: MasSql, userId: string): Promise<ActiveSessions> {
  const { rows } = await sql.query<{ kind: Kind; id: string }>(
    'listing the active sessions of a user',
    KINDS.map((k) => `SELECT '${k}' AS kind, ${TABLES[k].id} AS id FROM ${TABLES[k].table} WHERE user_id = $1 AND finished_at IS NULL`).join(
      '\nUNION ALL\n',
    ) + '\nORDER BY kind, id',
    [toUuid(userId, 'user id')],
  );
  const out: ActiveSessions = { compat: [], oauth2: [], browser: [] };
  for (const r of rows) out[r.kind].push(toUlid(r.id));
  return out;
}

/** Ends the sessions (of this user only, and only those still active) and schedules sync-devices. */
export async function finishSessions(sql: MasSql, userId: string, sessions: ActiveSessions): Promise<void> {
  const user = toUuid(userId, 'user id');
  await sql.transaction(async () => {
    for (const kind of KINDS) {
      const ids = sessions[kind];
      if (ids.length === 0) continue;
      const { table, id } = TABLES[kind];
      await sql.query(
        `finishing ${kind} sessions`,
        `UPDATE ${table} SET finished_at = now() WHERE ${id} = ANY($1::uuid[]) AND user_id = $2 AND finished_at IS NULL`,
        [ids.map((s) => toUuid(s, 'session id')), user],
      );
    }
    // Always, as mas-cli does: the job also cleans up devices whose sessions ended some other way.
    await scheduleJobs(sql, [syncDevicesJob(toUlid(user))]);
  });
}

/**
 * A compatibility session for `deviceId` with a token that never expires. With `synapseAdmin` the
 * session's tokens carry Synapse admin rights (MAS adds urn:synapse:admin:* when introspecting).
 */
export async function issueCompatToken(
  sql: MasSql,
  userId: string,
  deviceId: string,
  synapseAdmin: boolean,
): Promise<{ token: Secret; sessionId: string }> {
  const sessionId = newUlid();
  const token = Secret.fromString(generateCompatAccessToken());
  const { rowCount } = await sql.query(
    'issuing a compatibility token',
    `WITH session AS (
       INSERT INTO compat_sessions (compat_session_id, user_id, device_id, user_session_id, created_at, is_synapse_admin, human_name)
       SELECT $1, user_id, $3, NULL, now(), $4, NULL FROM users WHERE user_id = $2
       RETURNING compat_session_id, created_at
     )
     INSERT INTO compat_access_tokens (compat_access_token_id, compat_session_id, access_token, created_at, expires_at)
     SELECT $5, compat_session_id, $6, created_at, NULL FROM session`,
    [toUuid(sessionId), toUuid(userId, 'user id'), deviceId, synapseAdmin, toUuid(newUlid()), token.reveal()],
  );
  if (rowCount === 0) throw userNotFound([userId]);
  return { token, sessionId };
}

export async function scheduleSyncDevices(sql: MasSql, userId: string): Promise<void> {
  await scheduleJobs(sql, [syncDevicesJob(toUlid(toUuid(userId, 'user id')))]);
}
