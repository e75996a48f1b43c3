// The MAS side of a migration: one transaction that holds the advisory lock shared with mas-cli's
// syn2mas, checks the target tables are empty, pauses their constraints and indexes, takes the
// COPY streams, rebuilds everything and commits (or, for a dry run, rolls back). PostgreSQL's own
// atomicity is the guarantee: if anything fails or the process is killed at any moment, the MAS
// database is exactly as it was. The writer accepts only MasNew* rows.
import type pg from 'pg';
import { useBulkPlans } from '../db/bulk-plans.js';
import { copyLine } from '../db/copy.js';
import { pauseConstraints, restoreObject, type PausedObject } from '../db/constraints.js';
import { emailsNeedConfirmedAt, type MasSchema, type MasTargetTable } from '../db/mas-schema.js';
import { DatabaseError, MasToolError } from '../errors.js';
import { takeMigrationLock } from './migration-lock.js';
import { timestamptzText } from './timestamps.js';
import type {
  MasNewCompatAccessToken,
  MasNewCompatRefreshToken,
  MasNewCompatSession,
  MasNewUnsupportedThreepid,
  MasNewUpstreamLink,
  MasNewUser,
  MasNewUserEmail,
  MasNewUserPassword,
  MasNewUserRegistrationToken,
} from './transform.js';

const iso = (ms: number | null): string | null => (ms === null ? null : timestamptzText(ms));

/** How each MAS row becomes a COPY line, and the columns it fills; `confirmed_at` only before MAS v1.10. */
export function masEncoders(schema: MasSchema) {
  const confirmedAt = emailsNeedConfirmedAt(schema);
  return {
    users: {
      table: 'users',
      columns: ['user_id', 'username', 'created_at', 'locked_at', 'deactivated_at', 'can_request_admin', 'is_guest'],
      line: (u: MasNewUser) => copyLine([u.userId, u.username, iso(u.createdAt), iso(u.lockedAt), iso(u.deactivatedAt), u.canRequestAdmin, u.isGuest]),
    },
    passwords: {
      table: 'user_passwords',
      columns: ['user_password_id', 'user_id', 'hashed_password', 'created_at', 'version'],
      line: (p: MasNewUserPassword) => copyLine([p.userPasswordId, p.userId, p.hashedPassword, iso(p.createdAt), p.version]),
    },
    emails: {
      table: 'user_emails',
      // Before v1.10 MAS only used confirmed addresses; imported ones count as confirmed.
      columns: ['user_email_id', 'user_id', 'email', 'created_at', ...(confirmedAt ? ['confirmed_at'] : [])],
      line: (e: MasNewUserEmail) =>
        copyLine(confirmedAt ? [e.userEmailId, e.userId, e.email, iso(e.createdAt), iso(e.createdAt)] : [e.userEmailId, e.userId, e.email, iso(e.createdAt)]),
    },
    unsupportedThreepids: {
      table: 'user_unsupported_third_party_ids',
      columns: ['user_id', 'medium', 'address', 'created_at'],
      line: (t: MasNewUnsupportedThreepid) => copyLine([t.userId, t.medium, t.address, iso(t.createdAt)]),
    },
    upstreamLinks: {
      table: 'upstream_oauth_links',
      columns: ['upstream_oauth_link_id', 'user_id', 'upstream_oauth_provider_id', 'subject', 'created_at'],
      line: (l: MasNewUpstreamLink) => copyLine([l.upstreamOauthLinkId, l.userId, l.upstreamOauthProviderId, l.subject, iso(l.createdAt)]),
    },
    sessions: {
      table: 'compat_sessions',
      columns: ['compat_session_id', 'user_id', 'device_id', 'human_name', 'created_at', 'is_synapse_admin', 'last_active_at', 'last_active_ip', 'user_agent'],
      line: (s: MasNewCompatSession) =>
        copyLine([s.compatSessionId, s.userId, s.deviceId, s.humanName, iso(s.createdAt), s.isSynapseAdmin, iso(s.lastActiveAt), s.lastActiveIp, s.userAgent]),
    },
    accessTokens: {
      table: 'compat_access_tokens',
      columns: ['compat_access_token_id', 'compat_session_id', 'access_token', 'created_at', 'expires_at'],
      line: (t: MasNewCompatAccessToken) => copyLine([t.compatAccessTokenId, t.compatSessionId, t.accessToken, iso(t.createdAt), iso(t.expiresAt)]),
    },
    refreshTokens: {
      table: 'compat_refresh_tokens',
      columns: ['compat_refresh_token_id', 'compat_session_id', 'compat_access_token_id', 'refresh_token', 'created_at'],
      line: (t: MasNewCompatRefreshToken) => copyLine([t.compatRefreshTokenId, t.compatSessionId, t.compatAccessTokenId, t.refreshToken, iso(t.createdAt)]),
    },
    registrationTokens: {
      table: 'user_registration_tokens',
      columns: ['user_registration_token_id', 'token', 'usage_limit', 'times_used', 'created_at', 'expires_at'],
      line: (t: MasNewUserRegistrationToken) => copyLine([t.userRegistrationTokenId, t.token, t.usageLimit, t.timesUsed, iso(t.createdAt), iso(t.expiresAt)]),
    },
  } as const;
}

export type MasEncoders = ReturnType<typeof masEncoders>;

/** Runs one database step; a failure that is not already ours becomes a DatabaseError naming `what`. */
export async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    if (cause instanceof MasToolError) throw cause;
    throw new DatabaseError(what, cause);
  }
}

/**
 * Opens the load transaction: lock, emptiness, pause. Returns what was paused. On any failure the
 * transaction is rolled back before the error is thrown. `tables`: the target tables this MAS
 * schema has (an older schema lacks some, see presentTargetTables).
 */
export async function beginMasLoad(client: pg.Client, tables: readonly MasTargetTable[]): Promise<PausedObject[]> {
  try {
    await step('starting the MAS transaction', () => client.query('BEGIN ISOLATION LEVEL READ COMMITTED'));
    await takeMigrationLock(client);
    await lockTargets(client, tables);
    const counts = await step('checking the MAS tables are empty', () =>
      client.query<{ t: string }>(tables.map((t) => `SELECT '${t}' AS t WHERE EXISTS (SELECT 1 FROM ${t})`).join(' UNION ALL ')),
    );
    if (counts.rows.length > 0) {
      throw new MasToolError('MAS_TOOL_MAS_NOT_EMPTY', `The MAS database is not empty: ${counts.rows.map((r) => r.t).join(', ')} have rows.`, {
        hint: 'A migration needs an empty MAS database. If you already migrated, run `mas-tool syn2mas verify` instead.',
        exitCode: 10,
      });
    }
    // Index builds at the end are the slowest step; give them memory for this transaction only.
    await client.query(`SET LOCAL maintenance_work_mem = '256MB'`);
    // The same for the queries that validate foreign keys and make the summary: with the default
    // 4 MB their hashes and sorts spill to disk at a few hundred thousand users.
    await client.query(`SET LOCAL work_mem = '256MB'`);
    // The summary after the load reads whole tables that have no statistics yet.
    await useBulkPlans(client);
    const paused = await step('pausing the constraints and indexes of the MAS tables', () => pauseConstraints(client, tables));
    // The tables hold no visible row, but a rolled-back dry run leaves its rows behind as dead tuples
    // until a vacuum; loading after them and indexing past them doubled the rebuild time. TRUNCATE
    // starts from fresh files, and a rollback restores the old ones.
    await step('emptying the MAS tables for the load', () => client.query(`TRUNCATE ${tables.join(', ')}`));
    return paused;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function lockTargets(client: pg.Client, tables: readonly MasTargetTable[]): Promise<void> {
  try {
    await client.query(`LOCK TABLE ${tables.join(', ')} IN ACCESS EXCLUSIVE MODE NOWAIT`);
  } catch (cause) {
    throw new DatabaseError('locking the MAS tables: another session is using them; is MAS running?', cause, {
      hint: 'Stop MAS (the server and any worker) during the migration; it cannot use the tables while they are loaded.',
    });
  }
}

/** Rebuilds the paused objects one by one, reporting each with its duration. */
export async function rebuildPaused(
  client: pg.Client,
  paused: readonly PausedObject[],
  onObject?: (o: PausedObject, ms: number) => void,
  onStart?: (o: PausedObject, index: number) => void,
): Promise<void> {
  for (const [index, o] of paused.entries()) {
    onStart?.(o, index);
    const started = performance.now();
    await step(`rebuilding ${o.kind} ${o.name} on ${o.table}`, () => restoreObject(client, o));
    onObject?.(o, performance.now() - started);
  }
}

/** Ends the load transaction: COMMIT, or ROLLBACK for a dry run (which leaves MAS exactly as before). */
export async function endMasLoad(client: pg.Client, options: { dryRun: boolean }): Promise<void> {
  await step(options.dryRun ? 'rolling back the dry run' : 'committing the migration', () =>
    client.query(options.dryRun ? 'ROLLBACK' : 'COMMIT'),
  );
}
