// The read-only snapshot every reader of a database opens (src/db/snapshot.ts): it never writes, it
// sees one moment however long it reads, and a failure while opening it leaves the connection usable
// with an error that says what was being opened.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { beginReadSnapshot } from '../../src/db/snapshot.js';
import { DatabaseError, MasToolError } from '../../src/errors.js';
import { useTestDatabase } from '../helpers/db.js';

describe('beginReadSnapshot', () => {
  const db = useTestDatabase('empty');
  const others: pg.Client[] = [];
  const other = async (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    others.push(client);
    return client;
  };
  afterEach(async () => {
    await db.client.query('ROLLBACK').catch(() => undefined);
    for (const c of others.splice(0)) await c.end().catch(() => undefined);
    await db.client.query('DROP TABLE IF EXISTS t');
  });

  it('refuses writes and sees one moment, whatever is committed meanwhile', async () => {
    await db.client.query('CREATE TABLE t (n int); INSERT INTO t VALUES (1)');
    const reader = await other();
    await beginReadSnapshot(reader);
    const count = async (): Promise<number> => Number((await reader.query<{ n: string }>('SELECT count(*) AS n FROM t')).rows[0]?.n);
    expect(await count()).toBe(1);
    await db.client.query('INSERT INTO t VALUES (2)');
    expect(await count()).toBe(1);
    await expect(reader.query('INSERT INTO t VALUES (3)')).rejects.toMatchObject({ code: '25006' });
  });

  it('gives whole-table reads the planner settings and memory of bulk reads, and leaves them out on request', async () => {
    const reader = await other();
    await beginReadSnapshot(reader);
    const setting = async (name: string): Promise<string | undefined> => (await reader.query<Record<string, string>>(`SHOW ${name}`)).rows[0]?.[name];
    expect(await setting('transaction_isolation')).toBe('repeatable read');
    expect(await setting('enable_nestloop')).toBe('off');
    expect(await setting('work_mem')).toBe('256MB');
    await reader.query('COMMIT');
    // SET LOCAL: nothing outlives the snapshot.
    expect(await setting('enable_nestloop')).toBe('on');

    await beginReadSnapshot(reader, { serializable: true, bulk: false });
    expect(await setting('transaction_isolation')).toBe('serializable');
    expect(await setting('transaction_deferrable')).toBe('on');
    expect(await setting('enable_nestloop')).toBe('on');
  });

  it('takes the caller\'s locks before reading, and a refused lock ends the transaction with an error naming the snapshot', async () => {
    await db.client.query('CREATE TABLE t (n int)');
    await db.client.query('BEGIN');
    await db.client.query('LOCK TABLE t IN ACCESS EXCLUSIVE MODE');
    const reader = await other();
    const error = await beginReadSnapshot(reader, {
      lock: async (c) => {
        await c.query('LOCK TABLE t IN ACCESS SHARE MODE NOWAIT');
      },
      failure: 'opening a snapshot of the test database',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).message).toMatch(/^Failed while opening a snapshot of the test database: could not obtain lock/);
    // Out of the failed transaction: the connection works as before.
    expect((await reader.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
  });

  it('passes an error of mas-tool\'s own from the lock through as it is', async () => {
    const reader = await other();
    const own = new MasToolError('MAS_TOOL_LOCK_HELD', 'another run holds the lock');
    const error = await beginReadSnapshot(reader, { lock: () => Promise.reject(own), failure: 'opening a snapshot' }).catch((e: unknown) => e);
    expect(error).toBe(own);
    // Rolled back: the connection is out of the read-only transaction.
    expect((await reader.query<{ transaction_read_only: string }>('SHOW transaction_read_only')).rows[0]?.transaction_read_only).toBe('off');
  });
});
