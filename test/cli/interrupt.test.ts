// Stopping a run: Ctrl-C (SIGINT), SIGTERM and SIGHUP cancel what the database is doing, roll it
// back and close the connections, so that no backend of mas-tool is left holding the migration's
// transaction and its locks; the command says so in one line (or its one JSON document) and exits
// with 128 + the signal. A kill that cannot be caught (SIGKILL) is ended by PostgreSQL itself within
// seconds, through the connection check every session of mas-tool asks for.
//
// The runs are slowed down on PostgreSQL's side, honestly: an index on the MAS users table whose
// expression sleeps for every row (the migration drops it for the load and builds it again after:
// one long statement, as a large server's index and foreign key rebuilds are), a trigger that sleeps
// for every row loaded, or a lock the test holds.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { run as runInProcess } from '../helpers/cli.js';
import { snapshotDatabase, type DatabaseSnapshot } from '../helpers/db-snapshot.js';
import { activeQuery, bulkUsers, slowInserts, spawnCli, toolSessions, waitFor, type Spawned } from '../helpers/interrupted-run.js';
import { createSyn2masEnv, type Syn2masEnv } from '../helpers/syn2mas-env.js';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function env(): Promise<Syn2masEnv> {
  const e = await createSyn2masEnv();
  cleanups.push(() => e.drop());
  return e;
}

/** A client of the test's own (pg_stat_activity is read outside any transaction: inside one it shows one moment only). */
async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  cleanups.push(() => c.end());
  return c;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

interface Prepared {
  e: Syn2masEnv;
  watcher: pg.Client;
  before: { mas: DatabaseSnapshot; synapse: DatabaseSnapshot };
}

/**
 * A Synapse of a thousand users more than the fixture, an empty MAS, and a way to make the MAS side
 * slow: `rebuild` sleeps `ms` per user while the users index is built after the load (and ignores
 * cancel requests with `ignoreCancel`, as a statement busy in code that does not look for them);
 * `load` sleeps per session and token row while they are copied in.
 */
async function prepared(slow: { rebuild?: { ms: number; ignoreCancel?: boolean }; load?: boolean }): Promise<Prepared> {
  const e = await env();
  await bulkUsers(e.synapse.client, 1_000);
  if (slow.rebuild !== undefined) {
    const sleepRow = `PERFORM pg_sleep(${slow.rebuild.ms / 1000});`;
    const body = slow.rebuild.ignoreCancel === true ? `BEGIN ${sleepRow} EXCEPTION WHEN query_canceled THEN NULL; END;` : sleepRow;
    await e.mas.client.query(`
      CREATE FUNCTION test_slow_key(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN ${body} RETURN t; END $$;
      CREATE INDEX test_slow_users ON users ((test_slow_key(username)));`);
  }
  if (slow.load === true) await slowInserts(e.mas.client, ['compat_sessions', 'compat_access_tokens'], 0.0005);
  return { e, watcher: await client(e.mas.url), before: await snapshots(e) };
}

async function snapshots(e: Syn2masEnv): Promise<Prepared['before']> {
  return { mas: await snapshotDatabase(e.mas.client), synapse: await snapshotDatabase(e.synapse.client) };
}

/** Starts `syn2mas migrate` and returns once its MAS session runs a statement like `pattern`. */
async function migrateUntil(p: Prepared, pattern: string, flags: string[] = []): Promise<Spawned> {
  const run = spawnCli(['syn2mas', 'migrate', ...flags, ...p.e.args('run')]);
  await waitFor(async () => (await activeQuery(p.watcher, p.e.mas.name, pattern)) !== undefined, `a statement like ${pattern}`);
  return run;
}

const REBUILD = 'CREATE INDEX test_slow_users%';

/** mas-tool's sessions on both databases `ms` after `since`. */
async function sessionsAfter(p: { e: Syn2masEnv; watcher: pg.Client }, since: number, ms: number): Promise<string[]> {
  await sleep(since + ms - Date.now());
  return toolSessions(p.watcher, [p.e.mas.name, p.e.synapse.name]);
}

/** Sends `signal` to the run: mas-tool's sessions left `graceMs` later, and how the run ended. */
async function stopRun(p: { e: Syn2masEnv; watcher: pg.Client }, run: Spawned, signal: NodeJS.Signals, graceMs = 2_000): Promise<{ sessions: string[]; exit: Awaited<Spawned['exited']> }> {
  const sent = Date.now();
  run.child.kill(signal);
  const sessions = await sessionsAfter(p, sent, graceMs);
  return { sessions, exit: await run.exited };
}

describe('a migration stopped by a signal', { timeout: 90_000 }, () => {
  it('Ctrl-C after the load cancels the rebuild, rolls back and exits 130 with one JSON document', async () => {
    const p = await prepared({ rebuild: { ms: 10 } });
    const run = await migrateUntil(p, REBUILD, ['--json']);
    const { sessions, exit } = await stopRun(p, run, 'SIGINT');
    expect(sessions).toEqual([]);
    expect(exit).toEqual({ code: 130, signal: null });
    const doc = JSON.parse(run.stdout()) as { ok: boolean; error: { code: string; message: string; hint: string } };
    expect(doc.ok).toBe(false);
    expect(doc.error.code).toBe('MAS_TOOL_INTERRUPTED');
    expect(doc.error.message).toBe('Interrupted by SIGINT: the database work in progress was cancelled and rolled back; nothing was changed.');
    expect(doc.error.hint).toMatch(/again/);
    expect(run.stderr()).toContain(`error: ${doc.error.message}\n`);
    expect(run.stderr().match(/error:/g)).toHaveLength(1);
    expect(run.stderr()).not.toMatch(/\n\s+at |DeprecationWarning/);
    expect(await snapshots(p.e)).toEqual(p.before);
  });

  it('SIGTERM during the load cancels both COPY streams, rolls back and exits 143 with one error line', async () => {
    const p = await prepared({ load: true });
    const run = await migrateUntil(p, 'COPY compat_access_tokens%');
    const { sessions, exit } = await stopRun(p, run, 'SIGTERM');
    expect(sessions).toEqual([]);
    expect(exit).toEqual({ code: 143, signal: null });
    expect(run.stderr()).toContain('error: Interrupted by SIGTERM: the database work in progress was cancelled and rolled back; nothing was changed.\n');
    expect(run.stderr().match(/error:/g)).toHaveLength(1);
    expect(run.stderr()).not.toMatch(/\n\s+at |DeprecationWarning/);
    expect(await snapshots(p.e)).toEqual(p.before);
  });

  it('SIGHUP (the terminal closed) rolls back the same way and exits 129', async () => {
    const p = await prepared({ rebuild: { ms: 10 } });
    const run = await migrateUntil(p, REBUILD, ['--dry-run']);
    const { sessions, exit } = await stopRun(p, run, 'SIGHUP');
    expect(sessions).toEqual([]);
    expect(exit).toEqual({ code: 129, signal: null });
    expect(run.stderr()).toContain('error: Interrupted by SIGHUP');
    expect(await snapshots(p.e)).toEqual(p.before);
  });

  it('kill -9 during a long statement: PostgreSQL notices the client is gone and ends it within seconds', async (t) => {
    const p = await prepared({ rebuild: { ms: 20 } });
    const { rows } = await p.watcher.query<{ n: number }>(`SELECT current_setting('server_version_num')::int AS n`);
    if ((rows[0]?.n ?? 0) < 140000) t.skip(); // client_connection_check_interval is PostgreSQL 14 and later
    const run = await migrateUntil(p, REBUILD);
    const { sessions, exit } = await stopRun(p, run, 'SIGKILL', 5_000);
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    // The index build alone would take another 20 s: only the connection check ends it this soon.
    expect(sessions).toEqual([]);
    expect(await snapshots(p.e)).toEqual(p.before);
  });

  it('a second Ctrl-C exits at once while the first waits for a statement that ignores the cancel', async () => {
    const p = await prepared({ rebuild: { ms: 10, ignoreCancel: true } });
    const run = await migrateUntil(p, REBUILD);
    const sent = Date.now();
    run.child.kill('SIGINT');
    await sleep(300);
    expect(await toolSessions(p.watcher, [p.e.mas.name])).toHaveLength(1);
    run.child.kill('SIGINT');
    expect(await run.exited).toEqual({ code: 130, signal: null });
    expect(run.stderr()).toContain('error: Interrupted again by SIGINT: exiting without waiting for the rollback');
    expect(run.stderr().match(/error:/g)).toHaveLength(1);
    // The connection was cut; the server's connection check ends the statement that ignored the cancel.
    expect(await sessionsAfter(p, sent, 5_000)).toEqual([]);
    expect(await snapshots(p.e)).toEqual(p.before);
  });

  it('a single Ctrl-C still ends a statement that ignores the cancel: the connection is cut after a deadline', async () => {
    const p = await prepared({ rebuild: { ms: 10, ignoreCancel: true } });
    const run = await migrateUntil(p, REBUILD);
    run.child.kill('SIGINT');
    expect(await run.exited).toEqual({ code: 130, signal: null });
    expect(run.stderr()).toContain('error: Interrupted by SIGINT');
    expect(await sessionsAfter(p, Date.now(), 5_000)).toEqual([]);
    expect(await snapshots(p.e)).toEqual(p.before);
  });
});

describe('other commands stopped by a signal', { timeout: 90_000 }, () => {
  it('syn2mas check waiting on a Synapse lock: SIGINT ends its sessions and exits 130', async () => {
    const e = await env();
    const [holder, watcher] = [await client(e.synapse.url), await client(e.synapse.url)];
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
    const run = spawnCli(['syn2mas', 'check', ...e.args('check')]);
    await waitFor(async () => (await toolSessions(watcher, [e.synapse.name])).some((s) => s.startsWith('mas-tool-synapse: active')), 'the check to wait on the lock');
    const { sessions, exit } = await stopRun({ e, watcher }, run, 'SIGINT');
    expect(exit).toEqual({ code: 130, signal: null });
    expect(sessions).toEqual([]);
    expect(run.stderr()).toContain('error: Interrupted by SIGINT');
    await holder.query('ROLLBACK');
  });

  it('manage lock --via db waiting on a lock: SIGTERM rolls it back (the user stays unlocked) and exits 143', async () => {
    const e = await env();
    const migrated = await runInProcess(['syn2mas', 'migrate', ...e.args('manage')]);
    expect(migrated.code, migrated.stderr).toBe(0);
    const [holder, watcher] = [await client(e.mas.url), await client(e.mas.url)];
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE users IN SHARE MODE');
    const run = spawnCli(['manage', 'lock', 'alice', '--via', 'db', '--json', ...e.args('manage').slice(0, 2)]);
    await waitFor(
      async () => (await watcher.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'mas-tool' AND wait_event_type = 'Lock'`, [e.mas.name])).rows.length > 0,
      'the lock to wait on the test',
    );
    const { sessions, exit } = await stopRun({ e, watcher }, run, 'SIGTERM');
    expect(exit).toEqual({ code: 143, signal: null });
    expect(sessions).toEqual([]);
    expect(JSON.parse(run.stdout())).toMatchObject({ ok: false, error: { code: 'MAS_TOOL_INTERRUPTED' } });
    await holder.query('ROLLBACK');
    const { rows } = await holder.query<{ locked: boolean }>(`SELECT locked_at IS NOT NULL AS locked FROM users WHERE username = 'alice'`);
    expect(rows).toEqual([{ locked: false }]);
  });

  it('the staged cut-over stopped while applying the changes leaves MAS and the stage as they were', async () => {
    const e = await env();
    const staged = await runInProcess(['syn2mas', 'migrate', '--stage', ...e.args('stage')]);
    expect(staged.code, staged.stderr).toBe(0);
    // A new device since the stage: the cut-over inserts its session, slowly.
    await e.synapse.client.query(
      `INSERT INTO devices (user_id, device_id, display_name, last_seen, ip, user_agent, hidden) VALUES ('@alice:example.com', 'NEWDEV', 'New', 1700000000000, '198.51.100.7', 'Agent', false)`,
    );
    await slowInserts(e.mas.client, ['compat_sessions'], 30);
    const stage = async (): Promise<string> => JSON.stringify((await e.mas.client.query('SELECT name, fingerprint FROM mas_tool_stage.users ORDER BY name')).rows);
    const before = { mas: await snapshotDatabase(e.mas.client), stage: await stage() };
    const watcher = await client(e.mas.url);
    const run = spawnCli(['syn2mas', 'migrate', ...e.args('stage')]);
    await waitFor(async () => (await activeQuery(watcher, e.mas.name, 'INSERT INTO compat_sessions%')) !== undefined, 'the cut-over to insert the new session');
    const { sessions, exit } = await stopRun({ e, watcher }, run, 'SIGINT');
    expect(exit).toEqual({ code: 130, signal: null });
    expect(sessions).toEqual([]);
    expect({ mas: await snapshotDatabase(e.mas.client), stage: await stage() }).toEqual(before);
  });
});
