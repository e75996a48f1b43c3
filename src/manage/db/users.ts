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
  /** RFC 3339 text made by the database (see userColumns). */
  created_at: string;
  locked_at: string | null;
  deactivated_at: string | null;
  can_request_admin: boolean;
}

/** A timestamp as Date#toISOString writes it, made by PostgreSQL (millisecond precision, UTC). */
export function isoText(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/**
 * The columns of a UserRow. The timestamps come as text: parsing them into Date objects only to
 * print them again cost more than any other step of a bulk lookup.
 */
export function userColumns(alias?: string): string {
  const a = alias === undefined ? '' : `${alias}.`;
  return `${a}user_id, ${a}username, ${isoText(`${a}created_at`)} AS created_at, ${isoText(`${a}locked_at`)} AS locked_at, ${isoText(`${a}deactivated_at`)} AS deactivated_at, ${a}can_request_admin`;
}

export const USER_COLUMNS = userColumns();

export function toMasUser(row: UserRow): MasUser {
  return {
    id: toUlid(row.user_id),
    username: row.username,
    createdAt: row.created_at,
    lockedAt: row.locked_at,
    deactivatedAt: row.deactivated_at,
    admin: row.can_request_admin,
  };
}

/**
 * One statement for the whole batch. Per ref: the user with that id if there is one; else the users
 * whose username equals it case-insensitively, and of those the only one, or the one that matches
 * exactly (MAS's own rule: several that differ only by case and none exact means not found). The
 * statement finds the candidates by id and by lower(username) (MAS's index); the rule is applied here.
 */
export async function findUsers(sql: MasSql, refs: readonly UserRef[]): Promise<Map<string, MasUser>> {
  const found = new Map<string, MasUser>();
  if (refs.length === 0) return found;
  const ids = refs.some((r) => r.id !== undefined) ? refs.map((r) => toUuidOrNull(r.id)) : [];
  const { rows } = await sql.query<UserRow & { ord: number; by_name: boolean }>(
    'looking users up',
    // The batch goes over as two JSON arrays (one string each, which node-postgres does not have to
    // escape element by element). Each branch filters users with `= ANY(array)` on an index, so
    // that the work is the batch's size whatever the size of the table (a plain join was planned as
    // a scan of every user).
    `WITH r AS MATERIALIZED (
       SELECT e.ord::int AS ord, lower(e.username) AS key FROM jsonb_array_elements_text($1::jsonb) WITH ORDINALITY AS e(username, ord)
     ), i AS MATERIALIZED (
       SELECT e.ord::int AS ord, e.id::uuid AS id FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY AS e(id, ord) WHERE e.id IS NOT NULL
     )
     SELECT i.ord, false AS by_name, ${userColumns('u')}
       FROM users u JOIN i ON u.user_id = i.id
      WHERE u.user_id = ANY(ARRAY(SELECT id FROM i))
     UNION ALL
     SELECT r.ord, true, ${userColumns('u')}
       FROM users u JOIN r ON lower(u.username) = r.key
      WHERE lower(u.username) = ANY(ARRAY(SELECT key FROM r))`,
    [JSON.stringify(refs.map((r) => r.username)), JSON.stringify(ids)],
  );
  // Indexed by ord - 1: the row with the ref's id, and the rows whose name matches it.
  const byId: Array<UserRow | undefined> = new Array(refs.length);
  const byName: Array<UserRow | UserRow[] | undefined> = new Array(refs.length);
  for (const row of rows) {
    const at = row.ord - 1;
    if (!row.by_name) byId[at] = row;
    else {
      const before = byName[at];
      byName[at] = before === undefined ? row : Array.isArray(before) ? [...before, row] : [before, row];
    }
  }
  refs.forEach((ref, at) => {
    const named = byName[at];
    const row = byId[at] ?? (Array.isArray(named) ? named.find((u) => u.username === ref.username) : named);
    if (row !== undefined) found.set(ref.input, toMasUser(row));
  });
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
      : // By the id array itself rather than a join, which was planned as a scan of every user.
        `, changed AS (UPDATE users u SET ${change.set} WHERE u.user_id = ANY(ARRAY(SELECT id FROM ids))${change.only !== undefined ? ` AND ${change.only}` : ''})`;
  // Only the missing ids come back (normally none), not one row per user.
  const { rows } = await sql.query<{ user_id: string }>(
    action,
    `WITH ids AS MATERIALIZED (SELECT value::uuid AS id FROM jsonb_array_elements_text($1::jsonb))${update}
     SELECT i.id::text AS user_id FROM ids i WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = i.id)`,
    [JSON.stringify(ids.map((id) => toUuid(id))), ...(change?.values ?? [])],
  );
  if (rows.length > 0) throw userNotFound(rows.map((r) => toUlid(r.user_id)));
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
