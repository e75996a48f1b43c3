// For tests that stop the built CLI half-way: data large enough that the work takes a moment, the
// CLI as a child process with its output collected, and what PostgreSQL shows of mas-tool's sessions.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

export const BIN = fileURLToPath(new URL('../../bin/mas-tool.js', import.meta.url));

/** Users with an email, two devices and a token on each, as a Synapse homeserver holds them. */
export async function bulkUsers(client: pg.Client, n: number): Promise<void> {
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

/** Makes every row inserted into these MAS tables take `seconds` longer (a trigger that sleeps). */
export async function slowInserts(mas: pg.Client, tables: readonly string[], seconds: number): Promise<void> {
  await mas.query(`CREATE FUNCTION test_slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(${seconds}); RETURN NEW; END $$`);
  for (const t of tables) await mas.query(`CREATE TRIGGER test_slow BEFORE INSERT ON ${t} FOR EACH ROW EXECUTE FUNCTION test_slow_insert()`);
}

export async function waitFor(fn: () => Promise<boolean>, what: string, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The pid of a mas-tool session (application_name 'mas-tool', the MAS side) running a statement like `pattern`. */
export async function activeQuery(admin: pg.Client, database: string, pattern: string): Promise<number | undefined> {
  const { rows } = await admin.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'mas-tool' AND query ILIKE $2 AND state = 'active'`,
    [database, pattern],
  );
  return rows[0]?.pid;
}

/** mas-tool's sessions (both application names) on these databases, as "application_name: state query". */
export async function toolSessions(admin: pg.Client, databases: readonly string[]): Promise<string[]> {
  const { rows } = await admin.query<{ s: string }>(
    `SELECT application_name || ': ' || coalesce(state, '') || ' ' || left(query, 60) AS s FROM pg_stat_activity
      WHERE application_name LIKE 'mas-tool%' AND datname = ANY($1) ORDER BY 1`,
    [databases],
  );
  return rows.map((r) => r.s);
}

export interface Spawned {
  child: ChildProcess;
  /** Resolves, once its output is all read, with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
}

/** Runs `node bin/mas-tool.js ARGS` as a user would, collecting what it prints. */
export function spawnCli(args: readonly string[]): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}
