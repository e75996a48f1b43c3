// Reading users the way MAS finds them, and the state flips on users with the jobs that carry each
// flip to Synapse. Every function takes a whole batch and issues a fixed number of statements.
import type { Secret } from '../../secret.js';
import type { MasUser, UserRef } from '../model.js';
import { canonicalUlids, newUlid, toUlid, toUuid, toUuidOrNull } from './ids.js';
import { deactivateUserJob, provisionUserJob, reactivateUserJob, scheduleJobs } from './jobs.js';
import { userNotFound, type MasSql } from './sql.js';

export interface UserRow {
  user_id: string;
  username: string;
  created_at: Date;
  locked_at: Date | null;
  deactivated_at: Date | null;
  can_request_admin: boolean;
}

export const USER_COLUMNS = 'user_id, username, created_at, locked_at, deactivated_at, can_request_admin';

export function toMasUser(row: UserRow): MasUser {
  return {
    id: toUlid(row.user_id),
    username: row.username,
    createdAt: row.created_at.toISOString(),
    lockedAt: row.locked_at?.toISOString() ?? null,
    deactivatedAt: row.deactivated_at?.toISOString() ?? null,
    admin: row.can_request_admin,
  };
}

/**
 * One statement for the whole batch. Per ref: the user with that id if there is one; else the users
 * whose username equals it case-insensitively, and of those the only one, or the one that matches
 * exactly (MAS's own rule: several that differ only by case and none exact means not found).
 */
export async function findUsers(sql: MasSql, refs: readonly UserRef[]): Promise<Map<string, MasUser>> {
  const found = new Map<string, MasUser>();
  if (refs.length === 0) return found;
  const { rows } = await sql.query<UserRow & { ord: string }>(
    'looking users up',
    `SELECT r.ord::text AS ord, m.user_id, m.username, m.created_at, m.locked_at, m.deactivated_at, m.can_request_admin
       FROM unnest($1::text[], $2::uuid[]) WITH ORDINALITY AS r(username, id, ord)
       CROSS JOIN LATERAL (
         SELECT c.* FROM (
           SELECT 0 AS rank, ${USER_COLUMNS} FROM users WHERE user_id = r.id
           UNION ALL
           SELECT 1, ${USER_COLUMNS} FROM (
             SELECT ${USER_COLUMNS}, count(*) OVER () AS n FROM users WHERE lower(username) = lower(r.username)
           ) same WHERE same.n = 1 OR same.username = r.username
         ) c ORDER BY c.rank LIMIT 1
       ) m`,
    [refs.map((r) => r.username), refs.map((r) => toUuidOrNull(r.id))],
  );
  for (const row of rows) {
    const ref = refs[Number(row.ord) - 1];
    if (ref !== undefined) found.set(ref.input, toMasUser(row));
  }
  return found;
}

/** pg_trgm's default threshold (0.3) misses one-letter typos in short names ("alcie" for "alice"). */
const SIMILARITY_THRESHOLD = '0.2';
const PREFIX_LENGTH = 3;

export async function similarUsernames(sql: MasSql, trigram: boolean, username: string, limit: number): Promise<string[]> {
  if (limit <= 0) return [];
  if (!trigram) {
    // Without pg_trgm (older MAS): names sharing the first letters, the closest in length first.
    const { rows } = await sql.query<{ username: string }>(
      'looking for similar usernames',
      `SELECT username FROM users
        WHERE starts_with(lower(username), lower(left($1, ${PREFIX_LENGTH})))
        ORDER BY abs(length(username) - length($1)), username
        LIMIT $2`,
      [username, limit],
    );
    return rows.map((r) => r.username);
  }
  return sql.transaction(async () => {
    // `%` is what MAS's trigram index on users.username answers; its threshold is a setting, local
    // to this transaction.
    await sql.query('looking for similar usernames', `SELECT set_config('pg_trgm.similarity_threshold', $1, true)`, [SIMILARITY_THRESHOLD]);
    const { rows } = await sql.query<{ username: string }>(
      'looking for similar usernames',
      `SELECT username FROM users WHERE username % $1 ORDER BY similarity(username, $1) DESC, username LIMIT $2`,
      [username, limit],
    );
    return rows.map((r) => r.username);
  });
}

export async function listAdmins(sql: MasSql): Promise<MasUser[]> {
  const { rows } = await sql.query<UserRow>(
    'listing the users who may request admin rights',
    `SELECT ${USER_COLUMNS} FROM users WHERE can_request_admin ORDER BY username`,
  );
  return rows.map(toMasUser);
}

/**
 * Runs `UPDATE users SET <set> WHERE <only>` on the batch and fails, before anything is scheduled,
 * if an id is not a user: a job for a missing user would only fail in the worker, out of sight.
 * Returns the ids, each once.
 */
async function updateUsers(
  sql: MasSql,
  action: string,
  userIds: readonly string[],
  change: { set: string; only?: string; values?: unknown[] } | null,
): Promise<string[]> {
  const ids = canonicalUlids(userIds, 'user id');
  const update =
    change === null
      ? ''
      : `, changed AS (UPDATE users u SET ${change.set} FROM found f WHERE u.user_id = f.user_id${change.only !== undefined ? ` AND ${change.only}` : ''})`;
  const { rows } = await sql.query<{ user_id: string }>(
    action,
    `WITH found AS (SELECT user_id FROM users WHERE user_id = ANY($1::uuid[]))${update}
     SELECT user_id FROM found`,
    [ids.map((id) => toUuid(id)), ...(change?.values ?? [])],
  );
  const present = new Set(rows.map((r) => toUlid(r.user_id)));
  const missing = ids.filter((id) => !present.has(id));
  if (missing.length > 0) throw userNotFound(missing);
  return ids;
}

export async function setAdmin(sql: MasSql, userIds: readonly string[], admin: boolean): Promise<void> {
  if (userIds.length === 0) return;
  await updateUsers(sql, admin ? 'allowing users to request admin rights' : 'removing the right to request admin', userIds, { set: 'can_request_admin = $2', values: [admin] });
}

export async function lock(sql: MasSql, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  await sql.transaction(async () => {
    const ids = await updateUsers(sql, 'locking users', userIds, { set: 'locked_at = now()', only: 'u.locked_at IS NULL' });
    await scheduleJobs(sql, ids.map((id) => provisionUserJob(id)));
  });
}

export async function unlock(sql: MasSql, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  await sql.transaction(async () => {
    const ids = await updateUsers(sql, 'unlocking users', userIds, { set: 'locked_at = NULL' });
    await scheduleJobs(sql, ids.map((id) => provisionUserJob(id)));
  });
}

export async function deactivate(sql: MasSql, userIds: readonly string[], erase: boolean): Promise<void> {
  if (userIds.length === 0) return;
  await sql.transaction(async () => {
    const ids = await updateUsers(sql, 'deactivating users', userIds, { set: 'deactivated_at = now()', only: 'u.deactivated_at IS NULL' });
    await scheduleJobs(sql, ids.map((id) => deactivateUserJob(id, erase)));
  });
}

/** Only the job: the worker reactivates the account on Synapse first, then clears deactivated_at. */
export async function reactivate(sql: MasSql, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  await sql.transaction(async () => {
    const ids = await updateUsers(sql, 'reactivating users', userIds, null);
    await scheduleJobs(sql, ids.map((id) => reactivateUserJob(id)));
  });
}

/** A new user_passwords row: the newest row of a user is the password MAS checks. */
export async function setPassword(sql: MasSql, userId: string, hash: Secret, version: number): Promise<void> {
  const { rowCount } = await sql.query(
    'setting a password',
    `INSERT INTO user_passwords (user_password_id, user_id, hashed_password, version, upgraded_from_id, created_at)
     SELECT $1, user_id, $3, $4, NULL, now() FROM users WHERE user_id = $2`,
    [toUuid(newUlid()), toUuid(userId, 'user id'), hash.reveal(), version],
  );
  if (rowCount === 0) throw userNotFound([userId]);
}
