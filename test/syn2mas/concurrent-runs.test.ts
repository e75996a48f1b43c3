// Two runs at once: a second migration into the same MAS database, or from the same Synapse, refuses
// at once with MAS_TOOL_LOCK_HELD (exit 1), naming the run in its way, while the first one finishes.
// The first run is held inside its load by a trigger that waits for a lock the test holds, so the
// second one starts while the first certainly holds its locks, however fast the machine is.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { takeMigrationLock } from '../../src/syn2mas/migration-lock.js';
import { run } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/db-snapshot.js';
import { createSyn2masEnv, type Syn2masEnv } from '../helpers/syn2mas-env.js';

const GATE = 4242;
const envs: Syn2masEnv[] = [];
const clients: pg.Client[] = [];
async function env(): Promise<Syn2masEnv> {
  const e = await createSyn2masEnv();
  envs.push(e);
  return e;
}
async function client(url: string, applicationName: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: applicationName });
  await c.connect();
  clients.push(c);
  return c;
}
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  await Promise.all(envs.map((e) => e.drop()));
});

/** Makes a migration into this MAS database stop at its first user row until the gate opens. */
async function gateMigrationsInto(e: Syn2masEnv): Promise<{ waiting(): Promise<boolean>; open(): Promise<void> }> {
  await e.mas.client.query(`
    CREATE FUNCTION test_gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock(${GATE}); RETURN NEW; END $$;
    CREATE TRIGGER test_gate BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION test_gate();`);
  const gate = await client(e.mas.url, 'test-gate');
  await gate.query('SELECT pg_advisory_lock($1)', [GATE]);
  return {
    async waiting() {
      const { rows } = await gate.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted`, [GATE]);
      return rows.length > 0;
    },
    async open() {
      await gate.query('SELECT pg_advisory_unlock($1)', [GATE]);
    },
  };
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((r) => setTimeout(r, 20));
}

describe('concurrent migrations', { timeout: 60_000 }, () => {
  it('a second migration into the same MAS database refuses at once (MAS_TOOL_LOCK_HELD, exit 1), naming the first; the first completes', async () => {
    const first = await env();
    const other = await env();
    const gate = await gateMigrationsInto(first);
    const running = run(['syn2mas', 'migrate', ...first.args('first')]);
    await until(gate.waiting);

    // Another homeserver pointed at the same MAS database by mistake.
    const second = await run(['syn2mas', 'migrate', '--json', ...other.args('second', { masUrl: first.mas.url })]);
    expect(second.code).toBe(1);
    const error = JSON.parse(second.stdout).error;
    expect(error.code).toBe('MAS_TOOL_LOCK_HELD');
    expect(error.message).toMatch(/^Another migration \(mas-tool or mas-cli syn2mas\) is running against this MAS database: the migration lock is held by 'mas-tool' \(pid \d+ from 127\.0\.0\.1\)\.$/);
    expect(error.hint).toContain('Wait for it to finish');
    expect(second.stderr).not.toContain('E_MAS_NOT_EMPTY');
    // A check says the same, rather than waiting for the migration.
    const check = await run(['syn2mas', 'check', ...other.args('check', { masUrl: first.mas.url })]);
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/^error: Another migration .* is running against this MAS database/m);

    await gate.open();
    const done = await running;
    expect(done.stderr).not.toContain('error:');
    expect(done.code).toBe(0);
    const { rows } = await first.mas.client.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    expect(rows[0]?.n).toBe(8);
  });

  it('a second migration from the same Synapse refuses at once, naming the other mas-tool run instead of asking whether Synapse runs', async () => {
    const e = await env();
    const otherMas = await env();
    const gate = await gateMigrationsInto(e);
    const running = run(['syn2mas', 'migrate', ...e.args('first')]);
    await until(gate.waiting);

    const before = await snapshotDatabase(otherMas.mas.client);
    const second = await run(['syn2mas', 'migrate', ...e.args('second', { masUrl: otherMas.mas.url })]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      /^error: Another mas-tool run is migrating from this Synapse database: users is locked by 'mas-tool-synapse' \(pid \d+ from 127\.0\.0\.1\)\.\nhint: Wait for that migration to finish/m,
    );
    expect(second.stderr).not.toContain('is Synapse still running?');
    expect(await snapshotDatabase(otherMas.mas.client)).toEqual(before);

    await gate.open();
    expect((await running).code).toBe(0);
  });

  it('the writer refuses a lock held between the check and the load, naming the holder', async () => {
    const e = await env();
    const holder = await client(e.mas.url, 'mas-cli syn2mas');
    await holder.query('SELECT pg_advisory_lock(6584285998412104315)');
    const writer = await client(e.mas.url, 'mas-tool');
    await writer.query('BEGIN');
    await expect(takeMigrationLock(writer)).rejects.toMatchObject({
      code: 'MAS_TOOL_LOCK_HELD',
      message: expect.stringMatching(/held by 'mas-cli syn2mas' \(pid \d+ from 127\.0\.0\.1\)\.$/),
    });
    await writer.query('ROLLBACK');
  });
});
