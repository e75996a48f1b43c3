// The mas family of doctor checks against real databases: a fresh MAS 1.22 schema per test, with
// queue_workers and queue_jobs rows put in place; an empty database; an unreachable one.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseMasConfig } from '../../src/config/mas.js';
import { masTarget } from '../../src/db/connection.js';
import type { CheckResult, DoctorContext } from '../../src/doctor/check.js';
import { FAILED_REASON_MAX, capReason, describeRelease, formatAge, masInternalChecks, withMasDb } from '../../src/doctor/checks/mas-internals.js';
import { createDoctorContext } from '../../src/doctor/context.js';
import { runChecks } from '../../src/doctor/runner.js';
import { ConfigError } from '../../src/errors.js';
import { createHttpClient, type HttpClient } from '../../src/http/client.js';
import { sourced } from '../helpers/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let http: HttpClient;
const dropLater: TestDatabase[] = [];

beforeAll(() => {
  http = createHttpClient({ timeoutMs: 2000 });
});
afterAll(async () => {
  await http.close();
});
afterEach(async () => {
  for (const db of dropLater.splice(0)) await db.drop();
});

async function database(template: 'mas' | 'empty' = 'mas'): Promise<TestDatabase> {
  const db = await createTestDatabase(template);
  dropLater.push(db);
  return db;
}

function context(masDb: DoctorContext['masDb']): DoctorContext {
  const mas = parseMasConfig(sourced({ matrix: { homeserver: 'example.com', secret: 'unused-shared-secret' } }, 'mas.yaml'));
  return createDoctorContext({ issuer: undefined, serverName: 'example.com', endpoint: 'http://localhost:8008/', sharedSecret: undefined, http, mas, masDb, timeoutMs: 2000 }).ctx;
}

function forUrl(url: string): DoctorContext['masDb'] {
  return () => masTarget(parseMasConfig(sourced({ database: { uri: url } }, 'mas.yaml')), {});
}

async function run(url: string): Promise<Record<string, CheckResult>> {
  return runWith(forUrl(url), url);
}

async function runWith(masDb: DoctorContext['masDb'], url?: string): Promise<Record<string, CheckResult>> {
  const results = await runChecks(masInternalChecks, context(masDb));
  const json = JSON.stringify(results);
  const password = url === undefined ? '' : decodeURIComponent(new URL(url).password);
  if (password.length >= 4) expect(json).not.toContain(password);
  expect(json).not.toMatch(/\n\s+at /); // no stack trace
  expect(results.map((r) => r.family)).toEqual(['mas', 'mas', 'mas']);
  return Object.fromEntries(results.map((r) => [r.id, r]));
}

function statuses(results: Record<string, CheckResult>): Record<string, string> {
  return Object.fromEntries(Object.entries(results).map(([id, r]) => [id, r.status]));
}

async function addWorker(db: TestDatabase, lastSeen: string, shutdown: string | null = null): Promise<string> {
  const id = randomUUID();
  await db.client.query(
    `INSERT INTO queue_workers (queue_worker_id, registered_at, last_seen_at, shutdown_at)
     VALUES ($1, now() - interval '1 day', now() - $2::interval, now() - $3::interval)`,
    [id, lastSeen, shutdown],
  );
  return id;
}

interface JobSpec {
  queue?: string;
  status: 'available' | 'running' | 'completed' | 'failed' | 'scheduled';
  created?: string;
  started?: string;
  startedBy?: string;
  scheduled?: string;
  failed?: string;
  reason?: string;
  nextAttempt?: string;
}

async function addJob(db: TestDatabase, job: JobSpec): Promise<string> {
  const id = randomUUID();
  await db.client.query(
    `INSERT INTO queue_jobs (queue_job_id, status, created_at, started_at, started_by, queue_name, payload,
                             failed_at, failed_reason, next_attempt_id, scheduled_at)
     VALUES ($1, $2::queue_job_status, now() - $3::interval, now() - $4::interval, $5, $6, '{"user_id":"01J0000000000000000000USER"}',
             now() - $7::interval, $8, $9, now() - $10::interval)`,
    [id, job.status, job.created ?? '0', job.started ?? null, job.startedBy ?? null, job.queue ?? 'provision-user', job.failed ?? null, job.reason ?? null, job.nextAttempt ?? null, job.scheduled ?? null],
  );
  return id;
}

describe('a healthy MAS database', () => {
  it('passes mas.database (with the migration and the release), mas.worker and mas.jobs', async () => {
    const db = await database();
    await addWorker(db, '20 seconds');
    await addWorker(db, '3 hours', '3 hours'); // an old worker that shut down cleanly
    await addJob(db, { status: 'completed', created: '1 hour' });
    await addJob(db, { status: 'available', created: '1 minute' }); // just queued: not stuck
    await addJob(db, { status: 'scheduled', created: '1 hour', scheduled: '-1 hour' }); // a retry due in an hour
    await addJob(db, { status: 'running', started: '30 seconds' });
    const r = await run(db.url);
    expect(statuses(r)).toEqual({ 'mas.database': 'pass', 'mas.worker': 'pass', 'mas.jobs': 'pass' });
    expect(r['mas.database']?.message).toContain('20260720134722');
    expect(r['mas.database']?.message).toContain('MAS 1.22');
    expect(r['mas.database']?.message).toContain('167 migrations');
    expect(r['mas.database']?.message).toContain(`database ${db.name}`);
    expect(r['mas.database']?.details).toMatchObject({ latestMigration: '20260720134722', migrationCount: 167, release: '1.22' });
    expect(r['mas.worker']?.message).toMatch(/^1 MAS worker running \(the latest checked in \d+ s ago\)\.$/);
    expect(r['mas.worker']?.details).toMatchObject({ aliveWorkers: 1, registeredWorkers: 2 });
  });

  it('names an older release, and one between known releases', async () => {
    const db = await database();
    await db.client.query(`DELETE FROM _sqlx_migrations WHERE version > 20250709142240`);
    await addWorker(db, '0 seconds');
    const r = await run(db.url);
    expect(r['mas.database']?.status).toBe('pass');
    expect(r['mas.database']?.message).toContain('MAS v1.0.0');
    await db.client.query(`DELETE FROM _sqlx_migrations WHERE version = 20250709142240`);
    const between = await run(db.url);
    expect(between['mas.database']?.message).toContain('between MAS v0.16.0 and v1.0.0');
  });
});

describe('mas.worker', () => {
  it('fails when the only worker was last seen an hour ago', async () => {
    const db = await database();
    await addWorker(db, '1 hour');
    const r = (await run(db.url))['mas.worker'];
    expect(r?.status).toBe('fail');
    expect(r?.message).toContain('No MAS worker is running: jobs that provision Synapse never run');
    expect(r?.message).toContain('checked in 60 min ago');
    expect(r?.fix).toContain('mas-cli server` without --no-worker');
    expect(r?.fix).toContain('mas-cli worker');
  });

  it('fails when the worker shut down, even if it was seen a moment ago', async () => {
    const db = await database();
    await addWorker(db, '10 seconds', '5 seconds');
    const r = (await run(db.url))['mas.worker'];
    expect(r?.status).toBe('fail');
    expect(r?.message).toContain('The last worker shut down at');
  });

  it('fails when no worker ever registered', async () => {
    const db = await database();
    const r = (await run(db.url))['mas.worker'];
    expect(r?.status).toBe('fail');
    expect(r?.message).toContain('No worker has ever registered');
  });
});

describe('mas.jobs', () => {
  it('warns about jobs that failed for good, by queue, with the newest reason capped', async () => {
    const db = await database();
    await addWorker(db, '0 seconds');
    const longReason = `Failed to provision user: ${'x'.repeat(1000)}\nsecond line`;
    await addJob(db, { queue: 'provision-user', status: 'failed', failed: '2 hours', reason: 'older failure' });
    await addJob(db, { queue: 'provision-user', status: 'failed', failed: '1 hour', reason: longReason });
    await addJob(db, { queue: 'sync-devices', status: 'failed', failed: '3 hours', reason: 'connection refused' });
    // A failed attempt that MAS retried (and whose retry completed) is not a failure for good.
    const retry = await addJob(db, { queue: 'sync-devices', status: 'completed' });
    await addJob(db, { queue: 'sync-devices', status: 'failed', failed: '10 minutes', reason: 'transient', nextAttempt: retry });
    const r = (await run(db.url))['mas.jobs'];
    expect(r?.status).toBe('warn');
    expect(r?.message).toContain('3 MAS jobs failed for good (provision-user: 2, sync-devices: 1)');
    expect(r?.message).toContain('the newest (provision-user, at ');
    expect(r?.message).toContain('Failed to provision user: xxx');
    expect(r?.message).not.toContain('x'.repeat(FAILED_REASON_MAX));
    expect(r?.message).not.toContain('\n');
    expect(r?.details).toMatchObject({ failed: { 'provision-user': 2, 'sync-devices': 1 }, retriedAttempts: 1, stuck: [] });
    const newest = (r?.details?.newestFailure as { reason: string }).reason;
    expect(newest.length).toBe(FAILED_REASON_MAX);
    expect(newest.endsWith('…')).toBe(true);
    expect(r?.fix).toContain('provision-all-users');
  });

  it('warns about stuck jobs: available or due for over 10 minutes, running for over 10 minutes', async () => {
    const db = await database();
    const live = await addWorker(db, '0 seconds');
    const dead = await addWorker(db, '2 hours');
    await addJob(db, { queue: 'provision-user', status: 'available', created: '20 minutes' });
    await addJob(db, { queue: 'provision-user', status: 'available', created: '3 hours' });
    await addJob(db, { queue: 'sync-devices', status: 'scheduled', created: '1 hour', scheduled: '30 minutes' });
    await addJob(db, { queue: 'sync-devices', status: 'running', created: '1 hour', started: '25 minutes', startedBy: dead });
    await addJob(db, { queue: 'sync-devices', status: 'running', created: '1 hour', started: '15 minutes', startedBy: live });
    // Not stuck: a retry that became due 2 minutes ago, though created long ago.
    await addJob(db, { queue: 'provision-user', status: 'available', created: '1 day', scheduled: '2 minutes' });
    const r = (await run(db.url))['mas.jobs'];
    expect(r?.status).toBe('warn');
    expect(r?.message).toContain('5 jobs waited or ran for more than 10 minutes');
    expect(r?.message).toContain('2 available provision-user (oldest 3 h)');
    expect(r?.message).toContain('1 scheduled sync-devices (oldest 30 min)');
    expect(r?.message).toContain('2 running sync-devices (oldest 25 min)');
    expect(r?.message).toContain('1 running job belongs to a worker that has stopped');
    expect(r?.message).not.toContain('failed for good');
    expect(r?.details?.stuck).toEqual([
      { queue: 'provision-user', status: 'available', count: 2, oldestMinutes: 180 },
      { queue: 'sync-devices', status: 'running', count: 2, oldestMinutes: 25, onDeadWorker: 1 },
      { queue: 'sync-devices', status: 'scheduled', count: 1, oldestMinutes: 30 },
    ]);
  });

  it('says that no worker explains waiting jobs when mas.worker failed', async () => {
    const db = await database();
    await addJob(db, { status: 'available', created: '1 hour' });
    const r = await run(db.url);
    expect(statuses(r)).toEqual({ 'mas.database': 'pass', 'mas.worker': 'fail', 'mas.jobs': 'warn' });
    expect(r['mas.jobs']?.message).toContain('No MAS worker is running (see mas.worker)');
    expect(r['mas.jobs']?.fix).toContain('Start a MAS worker');
  });
});

describe('mas.database failures', () => {
  it('fails with a clear message on an unreachable database, and skips the other checks', async () => {
    const url = 'postgresql://x@127.0.0.1:1/x';
    const r = await run(url);
    expect(statuses(r)).toEqual({ 'mas.database': 'fail', 'mas.worker': 'skip', 'mas.jobs': 'skip' });
    expect(r['mas.database']?.message).toContain('connecting to the MAS database x on 127.0.0.1:1 as x');
    expect(r['mas.database']?.message).toContain('ECONNREFUSED');
    expect(r['mas.database']?.fix).toContain('Nothing is listening');
    expect(r['mas.worker']?.message).toContain('mas.database did not pass');
  });

  it('fails on a database without the MAS schema', async () => {
    const db = await database('empty');
    const r = await run(db.url);
    expect(statuses(r)).toEqual({ 'mas.database': 'fail', 'mas.worker': 'skip', 'mas.jobs': 'skip' });
    expect(r['mas.database']?.message).toContain('no MAS schema (no _sqlx_migrations table)');
    expect(r['mas.database']?.message).toContain('empty');
  });

  it('tells a foreign database from an empty one', async () => {
    const db = await database('empty');
    await db.client.query('CREATE TABLE something_else (id int)');
    const r = (await run(db.url))['mas.database'];
    expect(r?.status).toBe('fail');
    expect(r?.message).toContain('among its 1 table');
    expect(r?.message).toContain('probably names another database');
  });

  it('fails on a failed migration and on an empty _sqlx_migrations', async () => {
    const db = await database();
    await db.client.query(`UPDATE _sqlx_migrations SET success = false WHERE version = 20260720134722`);
    const failed = (await run(db.url))['mas.database'];
    expect(failed?.status).toBe('fail');
    expect(failed?.message).toContain('20260720134722 is recorded with success = false');
    await db.client.query(`DELETE FROM _sqlx_migrations`);
    const empty = (await run(db.url))['mas.database'];
    expect(empty?.status).toBe('fail');
    expect(empty?.message).toContain('empty _sqlx_migrations table');
  });

  it('fails with the message and hint of a configuration error (an unreadable password_file)', async () => {
    const r = await runWith(() => {
      throw new ConfigError('mas.yaml: database.password_file names the file /nonexistent/pw, which cannot be read (ENOENT).', { hint: 'Check the path.' });
    });
    expect(statuses(r)).toEqual({ 'mas.database': 'fail', 'mas.worker': 'skip', 'mas.jobs': 'skip' });
    expect(r['mas.database']?.message).toContain('/nonexistent/pw');
    expect(r['mas.database']?.fix).toBe('Check the path.');
  });
});

describe('the database session', () => {
  it('is read-only and has a short statement timeout', async () => {
    const db = await database();
    const ctx = { ...context(forUrl(db.url)), timeoutMs: 1000 };
    const write = await withMasDb(ctx, 'writing', async (c) => {
      await c.query('CREATE TABLE doctor_must_not_write (id int)');
      return { status: 'pass', message: 'wrote' };
    });
    expect(write.status).toBe('fail');
    expect(write.message).toContain('read-only transaction');
    const slow = await withMasDb(ctx, 'sleeping', async (c) => {
      await c.query('SELECT pg_sleep(10)');
      return { status: 'pass', message: 'slept' };
    });
    expect(slow.status).toBe('fail');
    expect(slow.message).toContain('Failed while sleeping in the MAS database');
    expect(slow.message).toContain('statement timeout');
    const { rows } = await db.client.query(`SELECT to_regclass('doctor_must_not_write') AS t`);
    expect(rows[0]?.t).toBeNull();
  });
});

describe('helpers', () => {
  it('describes releases', () => {
    expect(describeRelease('20260720134722')).toEqual({ release: '1.22', text: 'MAS 1.22', supported: true });
    expect(describeRelease('20990101000000').text).toBe('newer than MAS 1.22, the newest release mas-tool knows');
    expect(describeRelease('20240101000000')).toEqual({ text: 'older than MAS v0.16.0', supported: false });
    expect(describeRelease('20251201000000').text).toBe('between MAS v1.9.0 and v1.10.0');
  });

  it('formats ages and caps reasons', () => {
    expect(formatAge(42)).toBe('42 s');
    expect(formatAge(600)).toBe('10 min');
    expect(formatAge(3 * 3600 + 300)).toBe('3 h 5 min');
    expect(formatAge(5 * 86400)).toBe('5 days');
    expect(capReason('a\n  b')).toBe('a b');
    expect(capReason('y'.repeat(1000))).toHaveLength(FAILED_REASON_MAX);
  });
});
