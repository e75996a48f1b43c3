// Opening the database backend (only on a MAS schema mas-tool knows) and its transactions.
import { describe, expect, it } from 'vitest';
import { resolveTarget, type DatabaseTarget } from '../../../src/db/connection.js';
import { parseConnectionUri } from '../../../src/db/uri.js';
import { openDatabaseBackend } from '../../../src/manage/db/backend.js';
import { snapshotDatabase } from '../../helpers/db-snapshot.js';
import { createTestDatabase, useTestDatabase } from '../../helpers/db.js';
import { backendFor, cleanBetweenTests, jobs, provisionJob, seedUser } from './helpers.js';

const db = useTestDatabase('mas');
cleanBetweenTests(db);

function targetOf(url: string): DatabaseTarget {
  return resolveTarget('MAS', 'test', parseConnectionUri(url, 'test URL'), {}, 'mas-tool-test');
}

describe('openDatabaseBackend', () => {
  it('opens a MAS 1.22 database and closes its connection', async () => {
    const backend = await openDatabaseBackend(targetOf(db.url));
    try {
      expect(backend.kind).toBe('db');
      expect(backend.emailsNeedConfirmedAt).toBe(false);
      expect(await backend.listAdmins()).toEqual([]);
    } finally {
      await backend.close();
    }
    const { rows } = await db.client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'mas-tool-test'`);
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('refuses a database without the MAS schema', async () => {
    const empty = await createTestDatabase('empty');
    try {
      await expect(openDatabaseBackend(targetOf(empty.url))).rejects.toMatchObject({ code: 'MAS_TOOL_MAS_SCHEMA_MISSING' });
    } finally {
      await empty.drop();
    }
  });

  it('refuses a MAS newer than the releases mas-tool knows, pointing at the admin API', async () => {
    await db.client.query(`INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (20991231000000, 'future', true, '\\x00', 1)`);
    try {
      const error = await openDatabaseBackend(targetOf(db.url)).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'MAS_TOOL_MAS_SCHEMA_UNSUPPORTED' });
      expect((error as Error).message).toContain('20991231000000');
      expect((error as { hint?: string }).hint).toMatch(/admin API/);
    } finally {
      await db.client.query('DELETE FROM _sqlx_migrations WHERE version = 20991231000000');
    }
  });

  it('refuses a MAS older than v0.16 and one with a failed migration', async () => {
    await db.client.query('CREATE TEMP TABLE kept AS SELECT * FROM _sqlx_migrations');
    try {
      await db.client.query('DELETE FROM _sqlx_migrations WHERE version >= 20250425113717');
      await expect(openDatabaseBackend(targetOf(db.url))).rejects.toMatchObject({ code: 'MAS_TOOL_MAS_SCHEMA_UNSUPPORTED', message: expect.stringContaining('older') });
      await db.client.query('INSERT INTO _sqlx_migrations SELECT * FROM kept WHERE version >= 20250425113717');
      await db.client.query('UPDATE _sqlx_migrations SET success = false WHERE version = 20260720134722');
      await expect(openDatabaseBackend(targetOf(db.url))).rejects.toMatchObject({ code: 'MAS_TOOL_MAS_SCHEMA_UNSUPPORTED', message: expect.stringContaining('failed') });
    } finally {
      await db.client.query('TRUNCATE _sqlx_migrations');
      await db.client.query('INSERT INTO _sqlx_migrations SELECT * FROM kept');
      await db.client.query('DROP TABLE kept');
    }
  });
});

describe('transaction', () => {
  it('commits everything written inside it', async () => {
    const a = await seedUser(db.client, 'a');
    const b = await seedUser(db.client, 'b');
    const backend = await backendFor(db);
    await backend.transaction(async () => {
      await backend.lock([a.id]);
      await backend.lock([b.id]);
    });
    expect(await jobs(db.client)).toEqual([provisionJob(a.id), provisionJob(b.id)]);
  });

  it('leaves nothing behind when the work throws', async () => {
    const a = await seedUser(db.client, 'a');
    const backend = await backendFor(db);
    const before = await snapshotDatabase(db.client);
    await expect(
      backend.transaction(async () => {
        await backend.lock([a.id]);
        await backend.createUsers([{ username: 'new', skipHomeserverCheck: false, admin: true, emails: ['n@example.com'], upstream: [] }]);
        await backend.issueCompatToken(a.id, 'DEV', false);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await snapshotDatabase(db.client)).toEqual(before);
  });

  it('keeps the transaction usable after a nested write failed, undoing only that write', async () => {
    const a = await seedUser(db.client, 'a');
    const backend = await backendFor(db);
    const { newUlid } = await import('../../../src/manage/db/ids.js');
    await backend.transaction(async () => {
      await backend.lock([a.id]);
      await expect(backend.createUsers([{ username: 'x', skipHomeserverCheck: false, admin: false, emails: ['x@example.com'], upstream: [{ providerId: newUlid(), subject: 's' }] }])).rejects.toMatchObject({
        code: 'MAS_TOOL_UNKNOWN_PROVIDER',
      });
      await backend.unlock([a.id]);
    });
    expect((await db.client.query('SELECT username FROM users')).rows).toEqual([{ username: 'a' }]);
    expect(await jobs(db.client)).toEqual([provisionJob(a.id), provisionJob(a.id)]);
  });

  it('runs two transactions started at once one after the other', async () => {
    const a = await seedUser(db.client, 'a');
    const b = await seedUser(db.client, 'b');
    const backend = await backendFor(db);
    const failing = backend.transaction(async () => {
      await backend.lock([a.id]);
      await new Promise((r) => setTimeout(r, 20));
      throw new Error('first fails');
    });
    const succeeding = backend.transaction(() => backend.lock([b.id]));
    await expect(failing).rejects.toThrow('first fails');
    await succeeding;
    expect(await jobs(db.client)).toEqual([provisionJob(b.id)]);
  });

  it('wraps a PostgreSQL error with what it was doing', async () => {
    const backend = await backendFor(db);
    await db.client.query('ALTER TABLE queue_jobs RENAME TO queue_jobs_away');
    try {
      const a = await seedUser(db.client, 'a');
      const error = await backend.lock([a.id]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'MAS_TOOL_DATABASE' });
      expect((error as Error).message).toMatch(/^Failed while scheduling a provision-user job for the MAS worker in the MAS database: relation "queue_jobs" does not exist/);
      expect((await db.client.query('SELECT locked_at FROM users')).rows).toEqual([{ locked_at: null }]);
    } finally {
      await db.client.query('ALTER TABLE queue_jobs_away RENAME TO queue_jobs');
    }
  });
});
