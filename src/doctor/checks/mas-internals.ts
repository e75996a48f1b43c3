// Checks that look inside the MAS database: that it is reachable and has the MAS schema (and which
// release), that a MAS worker is alive (the worker runs the jobs that provision users in Synapse),
// and that no job failed for good or waits far too long. Read-only: every query runs in one read-only
// snapshot with a short statement_timeout, on a connection of its own.
import type pg from 'pg';
import { connect, describeTarget, type DatabaseTarget } from '../../db/connection.js';
import { KNOWN_MAS_RELEASES, NEWEST_SUPPORTED_MIGRATION, OLDEST_SUPPORTED_MIGRATION, inspectMasSchema } from '../../db/mas-schema.js';
import { beginReadSnapshot } from '../../db/snapshot.js';
import { DatabaseError, MasToolError } from '../../errors.js';
import { DOCS, type CheckResult, type DoctorCheck, type DoctorContext } from '../check.js';

type Outcome = Omit<CheckResult, 'id' | 'family'>;

/** A worker checks in every minute; MAS's leader declares it dead after two. */
export const WORKER_ALIVE_MINUTES = 5;
/** A job that waits or runs longer than this is reported as stuck. */
export const STUCK_JOB_MINUTES = 10;
/** How much of a job's failed_reason is shown. */
export const FAILED_REASON_MAX = 300;

const DOCS_WORKERS = 'https://element-hq.github.io/matrix-authentication-service/reference/cli/worker.html';

function failFromError(error: unknown): Outcome {
  if (error instanceof MasToolError) {
    return { status: 'fail', message: error.message, ...(error.hint !== undefined ? { fix: error.hint } : {}), docs: DOCS.general };
  }
  return { status: 'fail', message: error instanceof Error ? error.message : String(error), docs: DOCS.general };
}

/**
 * Opens the MAS database, runs `fn` inside a read-only snapshot, and always closes the
 * connection. Any error (settings, connection, query) becomes a failed result with its message.
 */
export async function withMasDb(ctx: DoctorContext, what: string, fn: (db: pg.Client, target: DatabaseTarget) => Promise<Outcome>): Promise<Outcome> {
  let target: DatabaseTarget;
  try {
    target = ctx.masDb();
  } catch (error) {
    return failFromError(error);
  }
  // libpq waits for ever by default; doctor must not hang on a black-holed address.
  const seconds = Math.max(1, Math.ceil(ctx.timeoutMs / 1000));
  const connectTarget: DatabaseTarget = target.connectTimeoutSeconds === undefined ? { ...target, connectTimeoutSeconds: seconds } : target;
  let client: pg.Client;
  try {
    client = await connect(connectTarget);
  } catch (error) {
    return failFromError(error);
  }
  try {
    await beginReadSnapshot(client, { bulk: false });
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1000, Math.min(Math.round(ctx.timeoutMs), 60_000))}`);
    return await fn(client, target);
  } catch (error) {
    return failFromError(error instanceof MasToolError ? error : new DatabaseError(`${what} in the ${describeTarget(target)}`, error));
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

async function tableExists(db: pg.Client, table: string): Promise<boolean> {
  const { rows } = await db.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
  return rows[0]?.present === true;
}

/** "42 s", "7 min", "3 h 5 min", "4 days". */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
  return `${Math.round(h / 24)} days`;
}

function iso(value: unknown): string | undefined {
  return value instanceof Date ? value.toISOString() : typeof value === 'string' ? value : undefined;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// ---------------------------------------------------------------------------------------------
// mas.database

/** Which MAS release a latest migration belongs to, in words. */
export function describeRelease(latest: string): { release?: string; text: string; supported: boolean } {
  const exact = KNOWN_MAS_RELEASES.find((r) => r.latest === latest);
  if (exact !== undefined) return { release: exact.release, text: `MAS ${exact.release}`, supported: true };
  const v = BigInt(latest);
  const newest = KNOWN_MAS_RELEASES[KNOWN_MAS_RELEASES.length - 1];
  if (v > BigInt(NEWEST_SUPPORTED_MIGRATION)) return { text: `newer than MAS ${newest?.release ?? NEWEST_SUPPORTED_MIGRATION}, the newest release mas-tool knows`, supported: true };
  if (v < BigInt(OLDEST_SUPPORTED_MIGRATION)) return { text: `older than MAS ${KNOWN_MAS_RELEASES[0]?.release ?? OLDEST_SUPPORTED_MIGRATION}`, supported: false };
  const before = [...KNOWN_MAS_RELEASES].reverse().find((r) => BigInt(r.latest) < v);
  const after = KNOWN_MAS_RELEASES.find((r) => BigInt(r.latest) > v);
  return { text: `between MAS ${before?.release ?? '?'} and ${after?.release ?? '?'}`, supported: true };
}

async function databaseCheck(ctx: DoctorContext): Promise<Outcome> {
  return withMasDb(ctx, 'reading the schema', async (db, target) => {
    const where = describeTarget(target);
    const base: Record<string, unknown> = { database: where, ...(target.notes.length > 0 ? { notes: target.notes } : {}) };
    if (!(await tableExists(db, '_sqlx_migrations'))) {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
      );
      const n = rows[0]?.n ?? 0;
      return {
        status: 'fail',
        message:
          n === 0
            ? `The ${where} is reachable but empty: it has no MAS schema (no _sqlx_migrations table). MAS has never started against it.`
            : `The ${where} is reachable but has no MAS schema (no _sqlx_migrations table among its ${plural(n, 'table')}): the database section of the MAS config probably names another database.`,
        fix: 'Check the database section of the MAS config; MAS creates its schema when it starts (or run `mas-cli database migrate`).',
        docs: DOCS.general,
        details: base,
      };
    }
    const schema = await inspectMasSchema(db);
    const details = { ...base, latestMigration: schema.latestMigration, migrationCount: schema.migrationCount, ...(schema.release !== undefined ? { release: schema.release } : {}) };
    if (schema.failedMigrations.length > 0) {
      return {
        status: 'fail',
        message: `The ${where} has a failed MAS migration (${schema.failedMigrations.join(', ')} is recorded with success = false); MAS refuses to start until it is resolved.`,
        fix: 'Look at the MAS logs for the migration error, fix its cause, then start MAS again (or run `mas-cli database migrate`).',
        docs: DOCS.general,
        details: { ...details, failedMigrations: schema.failedMigrations },
      };
    }
    if (schema.latestMigration === null) {
      return {
        status: 'fail',
        message: `The ${where} has an empty _sqlx_migrations table: the MAS schema was never created.`,
        fix: 'Start MAS (it migrates the database at startup) or run `mas-cli database migrate`.',
        docs: DOCS.general,
        details,
      };
    }
    const release = describeRelease(schema.latestMigration);
    const summary = `schema at migration ${schema.latestMigration} (${release.text}, ${plural(schema.migrationCount, 'migration')})`;
    if (!release.supported) {
      return {
        status: 'warn',
        message: `The ${where} is reachable; ${summary}. mas-tool knows MAS ${KNOWN_MAS_RELEASES[0]?.release} and later.`,
        fix: 'Upgrade MAS; it migrates its database when it starts.',
        docs: DOCS.general,
        details,
      };
    }
    return { status: 'pass', message: `The ${where} is reachable; ${summary}.`, details };
  });
}

// ---------------------------------------------------------------------------------------------
// mas.worker

interface WorkerRow extends Record<string, unknown> {
  alive: number;
  total: number;
  newest_seen: Date | null;
  newest_age_s: number | null;
  newest_shutdown: Date | null;
  freshest_alive_age_s: number | null;
}

async function workerCheck(ctx: DoctorContext): Promise<Outcome> {
  return withMasDb(ctx, 'reading queue_workers', async (db) => {
    if (!(await tableExists(db, 'queue_workers'))) {
      return {
        status: 'warn',
        message: 'The MAS database has no queue_workers table: this MAS is too old to have its job queue, so worker liveness cannot be checked.',
        fix: 'Upgrade MAS.',
        docs: DOCS_WORKERS,
      };
    }
    // Ages are measured with the database's clock; MAS writes last_seen_at with its own.
    const { rows } = await db.query<WorkerRow>(
      `WITH newest AS (SELECT last_seen_at, shutdown_at FROM queue_workers ORDER BY last_seen_at DESC LIMIT 1)
       SELECT
         (SELECT count(*)::int FROM queue_workers
           WHERE shutdown_at IS NULL AND last_seen_at >= now() - make_interval(mins => $1)) AS alive,
         (SELECT count(*)::int FROM queue_workers) AS total,
         (SELECT extract(epoch FROM now() - max(last_seen_at))::float8 FROM queue_workers
           WHERE shutdown_at IS NULL AND last_seen_at >= now() - make_interval(mins => $1)) AS freshest_alive_age_s,
         (SELECT last_seen_at FROM newest) AS newest_seen,
         (SELECT extract(epoch FROM now() - last_seen_at)::float8 FROM newest) AS newest_age_s,
         (SELECT shutdown_at FROM newest) AS newest_shutdown`,
      [WORKER_ALIVE_MINUTES],
    );
    const r = rows[0];
    const alive = r?.alive ?? 0;
    const details: Record<string, unknown> = { aliveWorkers: alive, registeredWorkers: r?.total ?? 0 };
    if (r?.newest_seen) details.lastSeenAt = iso(r.newest_seen);
    if (alive > 0) {
      const age = r?.freshest_alive_age_s ?? 0;
      return {
        status: 'pass',
        message: `${plural(alive, 'MAS worker')} running (the latest checked in ${formatAge(age)} ago).`,
        details,
      };
    }
    let last: string;
    if (r === undefined || r.total === 0) last = 'No worker has ever registered in this database.';
    else if (r.newest_shutdown !== null) last = `The last worker shut down at ${iso(r.newest_shutdown)}.`;
    else last = `The last worker checked in ${formatAge(r.newest_age_s ?? 0)} ago and has stopped since; a live worker checks in every minute.`;
    return {
      status: 'fail',
      message: `No MAS worker is running: jobs that provision Synapse never run. ${last}`,
      fix: 'Run `mas-cli server` without --no-worker, or a separate `mas-cli worker` process, against this database; then check its logs.',
      docs: DOCS_WORKERS,
      details,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// mas.jobs

/** One line, at most FAILED_REASON_MAX characters. */
export function capReason(reason: string): string {
  const line = reason.replace(/\s+/g, ' ').trim();
  return line.length <= FAILED_REASON_MAX ? line : `${line.slice(0, FAILED_REASON_MAX - 1)}…`;
}

interface CountRow extends Record<string, unknown> {
  queue_name: string;
  n: number;
}

interface StuckRow extends Record<string, unknown> {
  queue_name: string;
  status: 'available' | 'scheduled' | 'running';
  n: number;
  oldest_age_s: number;
  dead_worker: number;
}

async function jobsCheck(ctx: DoctorContext, earlier: ReadonlyMap<string, CheckResult>): Promise<Outcome> {
  return withMasDb(ctx, 'reading queue_jobs', async (db) => {
    if (!(await tableExists(db, 'queue_jobs'))) {
      return { status: 'warn', message: 'The MAS database has no queue_jobs table: this MAS is too old to have its job queue.', fix: 'Upgrade MAS.', docs: DOCS_WORKERS };
    }
    // A failed attempt that MAS retried points to its next attempt; only the others failed for good.
    const failed = await db.query<CountRow>(
      `SELECT queue_name, count(*)::int AS n FROM queue_jobs
        WHERE status = 'failed' AND next_attempt_id IS NULL
        GROUP BY queue_name ORDER BY n DESC, queue_name`,
    );
    const retried = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM queue_jobs WHERE status = 'failed' AND next_attempt_id IS NOT NULL`);
    const newest = await db.query<{ queue_name: string; failed_at: Date | null; reason: string | null }>(
      `SELECT queue_name, failed_at, left(failed_reason, 2000) AS reason FROM queue_jobs
        WHERE status = 'failed' AND next_attempt_id IS NULL
        ORDER BY failed_at DESC NULLS LAST, queue_job_id DESC LIMIT 1`,
    );
    const stuck = await db.query<StuckRow>(
      `SELECT j.queue_name, j.status::text AS status, count(*)::int AS n,
              extract(epoch FROM now() - min(CASE WHEN j.status = 'running' THEN j.started_at ELSE coalesce(j.scheduled_at, j.created_at) END))::float8 AS oldest_age_s,
              count(*) FILTER (WHERE j.status = 'running'
                AND (w.queue_worker_id IS NULL OR w.shutdown_at IS NOT NULL OR w.last_seen_at < now() - make_interval(mins => $2)))::int AS dead_worker
         FROM queue_jobs j LEFT JOIN queue_workers w ON w.queue_worker_id = j.started_by
        WHERE (j.status = 'available' AND coalesce(j.scheduled_at, j.created_at) < now() - make_interval(mins => $1))
           OR (j.status = 'scheduled' AND j.scheduled_at < now() - make_interval(mins => $1))
           OR (j.status = 'running' AND j.started_at < now() - make_interval(mins => $1))
        GROUP BY j.queue_name, j.status ORDER BY n DESC, j.queue_name, status`,
      [STUCK_JOB_MINUTES, WORKER_ALIVE_MINUTES],
    );

    const failedTotal = failed.rows.reduce((sum, r) => sum + r.n, 0);
    const stuckTotal = stuck.rows.reduce((sum, r) => sum + r.n, 0);
    const details: Record<string, unknown> = {
      failed: Object.fromEntries(failed.rows.map((r) => [r.queue_name, r.n])),
      retriedAttempts: retried.rows[0]?.n ?? 0,
      stuck: stuck.rows.map((r) => ({ queue: r.queue_name, status: r.status, count: r.n, oldestMinutes: Math.floor(r.oldest_age_s / 60), ...(r.dead_worker > 0 ? { onDeadWorker: r.dead_worker } : {}) })),
    };
    if (failedTotal === 0 && stuckTotal === 0) {
      return { status: 'pass', message: `No MAS job failed for good, and none has waited or run for more than ${STUCK_JOB_MINUTES} minutes.`, details };
    }

    const parts: string[] = [];
    const fixes: string[] = [];
    if (failedTotal > 0) {
      const byQueue = failed.rows.map((r) => `${r.queue_name}: ${r.n}`).join(', ');
      const last = newest.rows[0];
      let text = `${plural(failedTotal, 'MAS job')} failed for good (${byQueue})`;
      if (last !== undefined) {
        const reason = last.reason === null || last.reason === '' ? 'no reason recorded' : `"${capReason(last.reason)}"`;
        text += `; the newest (${last.queue_name}${last.failed_at ? `, at ${iso(last.failed_at)}` : ''}) failed with ${reason}`;
        details.newestFailure = { queue: last.queue_name, failedAt: iso(last.failed_at) ?? null, reason: last.reason === null ? null : capReason(last.reason) };
      }
      parts.push(`${text}.`);
      fixes.push(
        'Read the failure reasons in the MAS worker logs; provision-user and sync-devices jobs fail when MAS cannot reach Synapse at matrix.endpoint or Synapse refuses the shared secret. Once fixed, `mas-cli manage provision-all-users` provisions every user again.',
      );
    }
    if (stuckTotal > 0) {
      const list = stuck.rows.map((r) => `${r.n} ${r.status} ${r.queue_name} (oldest ${formatAge(r.oldest_age_s)})`).join(', ');
      parts.push(`${plural(stuckTotal, 'job')} waited or ran for more than ${STUCK_JOB_MINUTES} minutes: ${list}.`);
      const dead = stuck.rows.reduce((sum, r) => sum + r.dead_worker, 0);
      const workerDown = earlier.get('mas.worker')?.status === 'fail';
      if (workerDown) parts.push('No MAS worker is running (see mas.worker), which explains jobs that wait.');
      if (dead > 0) parts.push(`${plural(dead, 'running job')} belong${dead === 1 ? 's' : ''} to a worker that has stopped; MAS does not pick such jobs up again.`);
      fixes.push(
        workerDown
          ? 'Start a MAS worker (`mas-cli server` without --no-worker, or `mas-cli worker`).'
          : 'Check that the MAS workers are healthy and not overloaded (their logs, CPU, and database connections).',
      );
    }
    return { status: 'warn', message: parts.join(' '), fix: fixes.join(' '), docs: DOCS_WORKERS, details };
  });
}

export const masInternalChecks: DoctorCheck[] = [
  { id: 'mas.database', family: 'mas', run: (ctx) => databaseCheck(ctx) },
  { id: 'mas.worker', family: 'mas', requires: ['mas.database'], run: (ctx) => workerCheck(ctx) },
  { id: 'mas.jobs', family: 'mas', requires: ['mas.database'], after: ['mas.worker'], run: (ctx, earlier) => jobsCheck(ctx, earlier) },
];
