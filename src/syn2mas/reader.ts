// The Synapse side of a migration: one read-only snapshot with the tables locked, and one query per
// kind of row, each streamed with COPY. Every row comes with the reason the classification SQL
// (synapse-sql.ts, shared with the check) gives it: 'migrate', or why it is skipped. The reader
// never writes to Synapse.
import type pg from 'pg';
import type { CopyValue } from '../db/copy.js';
import { beginReadSnapshot } from '../db/snapshot.js';
import { DatabaseError } from '../errors.js';
import { describeHolder, isMasToolSession, synapseLockHeld, type LockHolder } from './migration-lock.js';
import {
  AT_FROM,
  AT_REASON,
  DEVICE_FROM,
  DEVICE_REASON,
  ownerWhens,
  REFRESH_FROM,
  REFRESH_REASON,
  refreshWith,
  REGISTRATION_TOKEN_FROM,
  successorUse,
  REGISTRATION_TOKEN_REASON,
  USER_CLASS,
} from './synapse-sql.js';
import type {
  SynapseAccessToken,
  SynapseDevice,
  SynapseExternalId,
  SynapseRefreshPair,
  SynapseRegistrationToken,
  SynapseThreepid,
  SynapseUser,
} from './transform.js';

/** Locked in this order, as mas-cli does. */
export const SYNAPSE_TABLES = ['users', 'user_threepids', 'user_external_ids', 'devices', 'access_tokens', 'refresh_tokens', 'registration_tokens'] as const;

/**
 * Opens the snapshot every read of the migration shares. A real run locks the tables EXCLUSIVE
 * (reads still work, writes wait) and fails at once if anything holds a conflicting lock: the sign
 * that Synapse is still running. A dry run takes ACCESS SHARE, which a running Synapse never notices.
 */
export async function openSynapseSnapshot(client: pg.Client, options: { dryRun: boolean }): Promise<void> {
  const mode = options.dryRun ? 'ACCESS SHARE' : 'EXCLUSIVE';
  await beginReadSnapshot(client, {
    serializable: true,
    lock: async () => {
      for (const table of SYNAPSE_TABLES) await lockTable(client, table, mode);
    },
    failure: 'opening a snapshot of the Synapse database',
  });
}

/** A stage and its refreshes read Synapse while it serves: a plain read-only snapshot, no table locks. */
export async function openServingSynapseSnapshot(client: pg.Client): Promise<void> {
  await beginReadSnapshot(client, { failure: 'opening a read-only snapshot of the Synapse database' });
}

/**
 * Locks one table without waiting behind Synapse. A holder that is only autovacuum is waited for:
 * PostgreSQL cancels an autovacuum that blocks a lock request after deadlock_timeout, so the wait is
 * about a second, and failing there would send the operator looking for a Synapse that is stopped.
 */
async function lockTable(client: pg.Client, table: string, mode: string): Promise<void> {
  await client.query('SAVEPOINT mas_tool_lock');
  try {
    await client.query(`LOCK TABLE ${table} IN ${mode} MODE NOWAIT`);
    await client.query('RELEASE SAVEPOINT mas_tool_lock');
    return;
  } catch (cause) {
    if ((cause as { code?: string }).code !== '55P03') throw cause;
    await client.query('ROLLBACK TO SAVEPOINT mas_tool_lock');
    const { rows: holders } = await client.query<LockHolder>(
      `SELECT DISTINCT a.pid, a.backend_type, a.application_name, host(a.client_addr) AS client_addr
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.relation = $1::regclass AND l.granted AND l.pid <> pg_backend_pid() ORDER BY a.pid`,
      [table],
    );
    if (holders.length > 0 && holders.every((h) => h.backend_type === 'autovacuum worker')) {
      await client.query(`SET LOCAL lock_timeout = '15s'`);
      await client.query(`LOCK TABLE ${table} IN ${mode} MODE`);
      await client.query(`SET LOCAL lock_timeout = 0`);
      await client.query('RELEASE SAVEPOINT mas_tool_lock');
      return;
    }
    if (holders.some(isMasToolSession)) throw synapseLockHeld(table, holders);
    const named = holders.map(describeHolder).join('; ');
    throw new DatabaseError(
      `locking the Synapse tables: ${table} is in use${named === '' ? '' : ` by ${named}`}; is Synapse still running?`,
      cause,
      { hint: 'Stop Synapse (and its workers) before migrating, or use --dry-run, which does not need Synapse stopped.' },
    );
  }
}

// ---- decoding COPY fields ----

type Field = CopyValue | undefined;
const num = (v: Field): number | null => (v === null || v === undefined ? null : Number(v));
const req = (v: Field): string => v ?? '';
// SMALLINT 0/1 (admin, is_guest, deactivated) or BOOLEAN t/f (locked): any non-zero is true.
export const flag = (v: Field): boolean => v === 't' || (v !== null && v !== undefined && v !== 'f' && v !== '0' && v !== '');

/** A SQL text[] literal of these values (COPY takes no parameters). */
export function textArrayLiteral(values: readonly string[], escapeLiteral: (s: string) => string): string {
  const items = values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  return `${escapeLiteral(`{${items.join(',')}}`)}::text[]`;
}

/**
 * Builds the phase queries for one server name; COPY takes no parameters, so it is inlined as a
 * literal. With `onlyUsers` (user IDs), every query reads the rows of those users only, and gives
 * them exactly the reasons and values the unrestricted query gives them: a staged migration's delta.
 * Registration tokens belong to no user: their query is the same either way.
 */
export function phaseQueries(serverName: string, escapeLiteral: (s: string) => string, onlyUsers?: readonly string[]): Record<PhaseQuery, string> {
  const only = onlyUsers === undefined ? undefined : textArrayLiteral(onlyUsers, escapeLiteral);
  // Restricted, each join with users also looks up only those users: a join on the user ID alone
  // let the planner read the whole users index once per query (50 ms at 100k users, per query).
  const inline = (sql: string): string => {
    const named = sql.replaceAll('$1::text', `${escapeLiteral(serverName)}::text`);
    return only === undefined ? named : named.replaceAll('LEFT JOIN users u ON u.name = ', `LEFT JOIN users u ON u.name = ANY(${only}) AND u.name = `);
  };
  const owner = (id: string): string => `CASE ${ownerWhens(id)} ELSE 'migrate' END`;
  /** ' AND column is one of onlyUsers', or nothing. */
  const and = (column: string): string => (only === undefined ? '' : ` AND ${column} = ANY(${only})`);
  const where = (column: string): string => (only === undefined ? '' : ` WHERE ${column} = ANY(${only})`);
  // A device's compat session is as old as its oldest token, which both the device and its tokens
  // can compute: no map from devices to sessions is needed.
  const sessionTs = `session_ts AS (
      SELECT user_id, device_id, min(last_validated) AS ts FROM access_tokens
       WHERE device_id IS NOT NULL AND puppets_user_id IS NULL${and('user_id')} GROUP BY user_id, device_id)`;
  // The devices' own version of session_ts, which also says whether the device's session keeps a
  // working token, so that the summary counts it from the stream instead of joining every session
  // with every token afterwards. It does when the device has a token without a refresh token (not a
  // puppet's: those are not carried), or a refresh pair that is carried (REFRESH_REASON's
  // 'migrate' on a device that is itself migrated): an access token paired with its refresh token
  // on the same user and device, whose refresh token's successor has an access token not yet used.
  // Only the refreshable tokens are joined to their refresh tokens.
  const successorsOf = only === undefined ? '' : ` AND refresh_token_id IN (SELECT n.next_token_id FROM refresh_tokens n WHERE n.user_id = ANY(${only}) AND n.next_token_id IS NOT NULL)`;
  const deviceTokens = `pair_successors AS MATERIALIZED (${successorUse(successorsOf)}), device_tokens AS (
      SELECT user_id, device_id, min(ts) AS ts, bool_or(working) AS working FROM (
        SELECT user_id, device_id, last_validated AS ts, true AS working FROM access_tokens
         WHERE refresh_token_id IS NULL AND device_id IS NOT NULL AND puppets_user_id IS NULL${and('user_id')}
        UNION ALL
        SELECT a.user_id, a.device_id, CASE WHEN a.puppets_user_id IS NULL THEN a.last_validated END,
               coalesce(r.user_id = a.user_id AND r.device_id = a.device_id AND s.all_used IS NOT TRUE, false)
          FROM access_tokens a LEFT JOIN refresh_tokens r ON r.id = a.refresh_token_id
          LEFT JOIN pair_successors s ON s.refresh_token_id = r.next_token_id
         WHERE a.refresh_token_id IS NOT NULL AND a.device_id IS NOT NULL${and('a.user_id')}
      ) t GROUP BY user_id, device_id)`;
  return {
    users: inline(`SELECT u.name, u.password_hash, u.admin, u.deactivated, u.locked, u.is_guest, u.creation_ts, ${USER_CLASS} AS reason FROM users u${where('u.name')}`),
    threepids: inline(
      `SELECT t.user_id, u.creation_ts, t.medium, t.address, t.added_at, ${owner('t.user_id')} AS reason
         FROM user_threepids t LEFT JOIN users u ON u.name = t.user_id${where('t.user_id')}`,
    ),
    externalIds: inline(
      `SELECT e.user_id, u.creation_ts, e.auth_provider, e.external_id, ${owner('e.user_id')} AS reason
         FROM user_external_ids e LEFT JOIN users u ON u.name = e.user_id${where('e.user_id')}`,
    ),
    devices: inline(
      `WITH ${deviceTokens}
       SELECT d.user_id, u.creation_ts, u.admin, d.device_id, d.display_name, d.last_seen, d.ip, d.user_agent, dt.ts,
              coalesce(dt.working, false) AS has_token, ${DEVICE_REASON} AS reason
         ${DEVICE_FROM} LEFT JOIN device_tokens dt ON dt.user_id = d.user_id AND dt.device_id = d.device_id${where('d.user_id')}`,
    ),
    // Deviceless tokens need no session time, so this query skips the per-device aggregate; and no
    // device row can match them, so instead of joining (hashing) every device of the server for a
    // few rows, the device side of AT_REASON is a row of NULLs.
    devicelessTokens: inline(
      `SELECT * FROM (
         SELECT a.id, a.user_id, u.creation_ts, a.device_id, a.token, a.valid_until_ms, a.last_validated, NULL::bigint AS ts, ${AT_REASON} AS reason
           FROM access_tokens a LEFT JOIN users u ON u.name = a.user_id
          CROSS JOIN (SELECT NULL::text AS user_id, NULL::text AS device_id, NULL::boolean AS hidden) d
          WHERE a.device_id IS NULL AND a.refresh_token_id IS NULL${and('a.user_id')}) t
        WHERE reason <> 'puppet'`,
    ),
    accessTokens: inline(
      `WITH ${sessionTs}
       SELECT * FROM (
         SELECT a.id, a.user_id, u.creation_ts, a.device_id, a.token, a.valid_until_ms, a.last_validated, st.ts, ${AT_REASON} AS reason
           ${AT_FROM} LEFT JOIN session_ts st ON st.user_id = a.user_id AND st.device_id = a.device_id${where('a.user_id')}) t
        WHERE reason <> 'refreshable'`,
    ),
    // Only the devices of refresh pairs need a session time here: aggregating every token of the
    // server (as the device query must) made this phase the one that grew fastest with the server.
    refreshPairs: inline(
      `${refreshWith(only)}, ${sessionTs.replace(' GROUP BY user_id, device_id)', ' AND (user_id, device_id) IN (SELECT user_id, device_id FROM units) GROUP BY user_id, device_id)')}
       SELECT x.at_id, x.rt_id, x.user_id, u.creation_ts, x.device_id, x.at_token, x.rt_token, x.valid_until_ms, x.last_validated, st.ts,
              ${REFRESH_REASON} AS reason
         ${REFRESH_FROM} LEFT JOIN session_ts st ON st.user_id = x.user_id AND st.device_id = x.device_id${where('x.user_id')}`,
    ),
    registrationTokens: `SELECT t.token, t.uses_allowed, t.completed, t.expiry_time, ${REGISTRATION_TOKEN_REASON} AS reason ${REGISTRATION_TOKEN_FROM}`,
  };
}

export type PhaseQuery = 'users' | 'threepids' | 'externalIds' | 'devices' | 'devicelessTokens' | 'accessTokens' | 'refreshPairs' | 'registrationTokens';

/** The reason column is always last. */
export function reasonOf(row: CopyValue[]): string {
  return row[row.length - 1] ?? 'migrate';
}

export const decode = {
  user: (r: CopyValue[]): SynapseUser => ({
    name: req(r[0]),
    passwordHash: r[1] ?? null,
    admin: flag(r[2]),
    deactivated: flag(r[3]),
    locked: flag(r[4]),
    isGuest: flag(r[5]),
    creationTs: num(r[6]) ?? 0,
  }),
  threepid: (r: CopyValue[]): SynapseThreepid => ({
    userId: req(r[0]),
    userCreationTs: num(r[1]) ?? 0,
    medium: req(r[2]),
    address: req(r[3]),
    addedAt: num(r[4]) ?? 0,
  }),
  externalId: (r: CopyValue[]): SynapseExternalId => ({
    userId: req(r[0]),
    userCreationTs: num(r[1]) ?? 0,
    authProvider: req(r[2]),
    externalId: req(r[3]),
  }),
  device: (r: CopyValue[]): SynapseDevice => ({
    userId: req(r[0]),
    userCreationTs: num(r[1]) ?? 0,
    admin: flag(r[2]),
    deviceId: req(r[3]),
    displayName: r[4] ?? null,
    lastSeen: num(r[5]),
    ip: r[6] ?? null,
    userAgent: r[7] ?? null,
    sessionTs: num(r[8]),
  }),
  /** Whether a device row's session keeps a working token (see device_tokens in phaseQueries). */
  deviceHasToken: (r: CopyValue[]): boolean => flag(r[9]),
  accessToken: (r: CopyValue[]): SynapseAccessToken => ({
    id: req(r[0]),
    userId: req(r[1]),
    userCreationTs: num(r[2]) ?? 0,
    deviceId: r[3] ?? null,
    token: req(r[4]),
    validUntilMs: num(r[5]),
    lastValidated: num(r[6]),
    sessionTs: num(r[7]),
  }),
  refreshPair: (r: CopyValue[]): SynapseRefreshPair => ({
    accessTokenId: req(r[0]),
    refreshTokenId: req(r[1]),
    userId: req(r[2]),
    userCreationTs: num(r[3]) ?? 0,
    deviceId: req(r[4]),
    accessToken: req(r[5]),
    refreshToken: req(r[6]),
    validUntilMs: num(r[7]),
    lastValidated: num(r[8]),
    sessionTs: num(r[9]),
  }),
  registrationToken: (r: CopyValue[]): SynapseRegistrationToken => ({
    token: req(r[0]),
    usesAllowed: num(r[1]),
    completed: num(r[2]) ?? 0,
    expiryTime: num(r[3]),
  }),
};
