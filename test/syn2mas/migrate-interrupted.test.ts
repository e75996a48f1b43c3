// All-or-nothing: whatever stops a migration half-way (the process killed with SIGKILL, the MAS
// connection cut), the MAS database afterwards is exactly as it was before: same tables, same
// constraints and indexes, same contents.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { snapshotDatabase } from '../helpers/db-snapshot.js';
import { createSyn2masEnv, type Syn2masEnv } from '../helpers/syn2mas-env.js';

const BIN = fileURLToPath(new URL('../../bin/mas-tool.js', import.meta.url));
const envs: Syn2masEnv[] = [];
afterAll(async () => {
  await Promise.all(envs.map((e) => e.drop()));
});

/** Enough rows that the load takes a moment: users with devices and tokens. */
async function bulkUsers(client: pg.Client, n: number): Promise<void> {
  await client.query(`
    INSERT INTO users (name, password_hash, creation_ts, admin, is_guest, deactivated, locked)
      SELECT '@bulk' || i || ':example.com', '$2b$12$' || md5(i::text) || md5('p' || i) , 1500000000 + i, 0, 0, 0, false FROM generate_series(1, ${n}) i;
    INSERT INTO user_threepids (user_id, medium, address, validated_at, added_at)
      SELECT '@bulk' || i || ':example.com', 'email', 'bulk' || i || '@example.com', 1600000000000, 1600000000000 FROM generate_series(1, ${n}) i;
    INSERT INTO devices (user_id, device_id, display_name, last_seen, ip, user_agent, hidden)
      SELECT '@bulk' || i || ':example.com', 'DEV' || d, 'Device ' || d, 1700000000000, '198.51.100.' || (i % 250), 'Agent', false
        FROM generate_series(1, ${n}) i, generate_series(1, 2) d;
    INSERT INTO access_tokens (id, user_id, device_id, token, last_validated)
      SELECT 1000000 + i * 2 + d, '@bulk' || i || ':example.com', 'DEV' || d, 'syt_bulk_' || i || '_' || d, 1700000000000
        FROM generate_series(1, ${n}) i, generate_series(1, 2) d;
    ANALYZE;`);
}

async function waitFor(fn: () => Promise<boolean>, what: string, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function activeQuery(admin: pg.Client, database: string, pattern: string): Promise<number | undefined> {
  const { rows } = await admin.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'mas-tool' AND query ILIKE $2 AND state = 'active'`,
    [database, pattern],
  );
  return rows[0]?.pid;
}

async function prepared(): Promise<{ e: Syn2masEnv; watcher: pg.Client; before: Awaited<ReturnType<typeof snapshotDatabase>> }> {
  const e = await createSyn2masEnv();
  envs.push(e);
  await bulkUsers(e.synapse.client, 5_000);
  // Slow the session and token loads down (half a millisecond per row) so that the interruption
  // lands inside them however fast or busy the machine is, instead of racing the migration.
  await e.mas.client.query(`
    CREATE FUNCTION test_slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.0005); RETURN NEW; END $$;
    CREATE TRIGGER test_slow BEFORE INSERT ON compat_sessions FOR EACH ROW EXECUTE FUNCTION test_slow_insert();
    CREATE TRIGGER test_slow BEFORE INSERT ON compat_access_tokens FOR EACH ROW EXECUTE FUNCTION test_slow_insert();`);
  const watcher = new pg.Client({ connectionString: e.mas.url });
  await watcher.connect();
  return { e, watcher, before: await snapshotDatabase(e.mas.client) };
}

describe('an interrupted migration', { timeout: 90_000 }, () => {
  it('leaves MAS exactly as before when the process is killed with SIGKILL mid-load', async () => {
    const { e, watcher, before } = await prepared();
    try {
      const child = spawn(process.execPath, [BIN, 'syn2mas', 'migrate', ...e.args('kill')], { stdio: 'ignore' });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      // Wait until the tokens are being loaded: users, emails and sessions are already in.
      await waitFor(async () => (await activeQuery(watcher, e.mas.name, 'COPY compat_access_tokens%')) !== undefined, 'the token load');
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      // PostgreSQL notices the dead client and rolls its transaction back.
      await waitFor(async () => (await watcher.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'mas-tool'`, [e.mas.name])).rows.length === 0, 'the backend to end');
      expect(await snapshotDatabase(e.mas.client)).toEqual(before);
    } finally {
      await watcher.end();
    }
  });

  it('leaves MAS exactly as before when the MAS connection is cut, and says what failed', async () => {
    const { e, watcher, before } = await prepared();
    try {
      const child = spawn(process.execPath, [BIN, 'syn2mas', 'migrate', ...e.args('cut')], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      let pid: number | undefined;
      await waitFor(async () => (pid = await activeQuery(watcher, e.mas.name, 'COPY compat_sessions%')) !== undefined, 'the session load');
      await watcher.query('SELECT pg_terminate_backend($1)', [pid]);
      expect(await exited).toBe(1);
      expect(stderr).toMatch(/error: Failed while migrating devices into compat_sessions/);
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(await snapshotDatabase(e.mas.client)).toEqual(before);
    } finally {
      await watcher.end();
    }
  });
});
