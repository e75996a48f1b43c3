// Jobs for the MAS worker, as rows of queue_jobs written in the caller's transaction: they exist only
// if the change they go with is committed. A row needs only its id, queue name, payload, metadata and
// creation time; status defaults to 'available', and MAS's AFTER INSERT trigger wakes the worker
// (pg_notify), so a row written here is picked up as soon as one written by MAS itself.
import type { JobName } from '../backend.js';
import { NEW_ULID_UUID_SQL, newUlid, toUuid, ulidBitsSql, ulidTextSql } from './ids.js';
import type { MasSql } from './sql.js';

export interface Job {
  queue: JobName;
  /** Ids in payloads are ULID strings, as MAS serialises them. */
  payload: Record<string, unknown>;
}

export function provisionUserJob(userId: string, displayName: string | null = null): Job {
  return { queue: 'provision-user', payload: { user_id: userId, set_display_name: displayName } };
}

export function syncDevicesJob(userId: string): Job {
  return { queue: 'sync-devices', payload: { user_id: userId } };
}

export function deactivateUserJob(userId: string, erase: boolean): Job {
  return { queue: 'deactivate-user', payload: { user_id: userId, hs_erase: erase } };
}

export function reactivateUserJob(userId: string): Job {
  return { queue: 'reactivate-user', payload: { user_id: userId } };
}

export async function scheduleJobs(sql: MasSql, jobs: readonly Job[]): Promise<void> {
  if (jobs.length === 0) return;
  // One statement per batch, the rows as one JSON document. Metadata holds tracing context for
  // MAS; none is a valid value.
  await sql.query(
    `scheduling ${jobs.length === 1 ? `a ${jobs[0]?.queue} job` : `${jobs.length} jobs`} for the MAS worker`,
    `INSERT INTO queue_jobs (queue_job_id, queue_name, payload, metadata, created_at)
     SELECT j.id, j.queue, j.payload, '{}'::jsonb, now()
       FROM jsonb_to_recordset($1::jsonb) AS j(id uuid, queue text, payload jsonb)`,
    [JSON.stringify(jobs.map((j) => ({ id: toUuid(newUlid()), queue: j.queue, payload: j.payload })))],
  );
}

/**
 * A provision-user job for every user, locked and deactivated ones included (as mas-cli does, so
 * that Synapse learns their state too), in one INSERT ... SELECT: the ids never leave the database.
 */
export async function scheduleProvisionAll(sql: MasSql): Promise<number> {
  const { rowCount } = await sql.query(
    'scheduling a provision-user job for every user',
    `INSERT INTO queue_jobs (queue_job_id, queue_name, payload, metadata, created_at)
     SELECT ${NEW_ULID_UUID_SQL}, 'provision-user',
            jsonb_build_object('user_id', ${ulidTextSql('b.bits')}, 'set_display_name', NULL), '{}'::jsonb, now()
       FROM users u
       CROSS JOIN LATERAL (SELECT ${ulidBitsSql('u.user_id')} AS bits) b
      ORDER BY u.user_id`,
  );
  return rowCount;
}
