// One migration at a time. Into a MAS database: whoever migrates holds mas-cli syn2mas's advisory
// lock, which mas-tool takes with a try-lock and refuses at once when it is held, in the check as
// well as in the writer (the check's reads would otherwise queue behind the running migration's
// table locks, and then report its rows as E_MAS_NOT_EMPTY). From a Synapse database: the tables are
// locked EXCLUSIVE NOWAIT (reader.ts); when the session in the way is another mas-tool, the error
// says so instead of asking whether Synapse is still running.
import type pg from 'pg';
import type { Queryable } from '../db/queryable.js';
import { DatabaseError, MasToolError } from '../errors.js';

/**
 * mas-cli syn2mas's advisory lock key (sqlx's key for "syn2mas-maswriter"): holding it keeps the two
 * tools, and two runs of either, from migrating into the same database at once.
 */
export const SYN2MAS_ADVISORY_LOCK = '6584285998412104315';

/** How long a check's read of MAS may wait behind another session's table lock before it asks who holds it. */
const CHECK_LOCK_TIMEOUT = '5s';

/** A session holding a lock, as pg_stat_activity names it. */
export interface LockHolder {
  pid: number;
  backend_type: string | null;
  application_name: string | null;
  client_addr: string | null;
}

export function describeHolder(h: LockHolder): string {
  const app = h.application_name !== null && h.application_name !== '' ? `'${h.application_name}'` : (h.backend_type ?? 'a session');
  return `${app} (pid ${h.pid}${h.client_addr !== null ? ` from ${h.client_addr}` : ''})`;
}

/** mas-tool names its connections mas-tool (MAS) and mas-tool-synapse (Synapse), unless PGAPPNAME says otherwise. */
export function isMasToolSession(h: LockHolder): boolean {
  return h.application_name?.startsWith('mas-tool') === true;
}

export class LockHeldError extends MasToolError {
  constructor(message: string, hint: string) {
    super('MAS_TOOL_LOCK_HELD', message, { hint });
  }
}

function masLockHeld(holders: readonly LockHolder[]): LockHeldError {
  const by = holders.length === 0 ? '' : `: the migration lock is held by ${holders.map(describeHolder).join('; ')}`;
  return new LockHeldError(`Another migration (mas-tool or mas-cli syn2mas) is running against this MAS database${by}.`, 
    'Wait for it to finish, or stop it; two migrations into one database cannot both succeed. Then run `mas-tool syn2mas check` again.',
  );
}

/** The error for a Synapse table locked by another mas-tool run (a real migration locks them EXCLUSIVE). */
export function synapseLockHeld(table: string, holders: readonly LockHolder[]): LockHeldError {
  return new LockHeldError(
    `Another mas-tool run is migrating from this Synapse database: ${table} is locked by ${holders.map(describeHolder).join('; ')}.`,
    'Wait for that migration to finish, or stop it; one Synapse is migrated by one run at a time (a --dry-run may run beside it).',
  );
}

/** Sessions other than this one holding the advisory lock in this database. */
async function advisoryLockHolders(db: Queryable): Promise<LockHolder[]> {
  const { rows } = await db.query<LockHolder & Record<string, unknown>>(
    `SELECT a.pid, a.backend_type, a.application_name, host(a.client_addr) AS client_addr
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.pid <> pg_backend_pid()
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint
      ORDER BY a.pid`,
    [SYN2MAS_ADVISORY_LOCK],
  );
  return rows;
}

/** Takes the advisory lock for this transaction, or refuses at once naming who holds it. */
export async function takeMigrationLock(client: pg.Client): Promise<void> {
  let locked: boolean;
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1::bigint) AS locked', [SYN2MAS_ADVISORY_LOCK]);
    locked = rows[0]?.locked === true;
  } catch (cause) {
    throw new DatabaseError('taking the migration lock on the MAS database', cause);
  }
  if (!locked) throw masLockHeld(await advisoryLockHolders(client).catch(() => []));
}

/**
 * Runs the check's reads of a MAS database (inside its read-only transaction) unless a migration is
 * running against it. A migration that starts between the look at the lock and the reads holds its
 * tables' locks: the reads then stop waiting after a few seconds, and the error names the migration.
 */
export async function unlessMigrationRuns<T>(db: Queryable, fn: () => Promise<T>): Promise<T> {
  const holders = await advisoryLockHolders(db);
  if (holders.length > 0) throw masLockHeld(holders);
  await db.query(`SET LOCAL lock_timeout = '${CHECK_LOCK_TIMEOUT}'`);
  await db.query('SAVEPOINT mas_tool_migration_guard');
  try {
    const result = await fn();
    await db.query('RELEASE SAVEPOINT mas_tool_migration_guard');
    return result;
  } catch (error) {
    if (sqlState(error) !== '55P03') throw error;
    await db.query('ROLLBACK TO SAVEPOINT mas_tool_migration_guard');
    const now = await advisoryLockHolders(db);
    if (now.length > 0) throw masLockHeld(now);
    throw new DatabaseError('reading the MAS database: another session holds a lock on its tables', error, {
      hint: 'Is MAS upgrading its schema (mas-cli database migrate), or another tool holding the tables? Let it finish, then run the check again.',
    });
  }
}

function sqlState(error: unknown): string | undefined {
  if (error instanceof DatabaseError) return error.pgCode;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
