// `npm run bench:manage -- --users N`: bulk manage commands on the MAS database. N users are put in an
// empty MAS database, then `manage lock --from-file` (N users) and `manage unlock --from-file` run as
// users run them (built CLI, a process of its own, peak RSS measured). The floor is the same change
// done by hand in one transaction: one UPDATE and one INSERT of the provision-user jobs, no node
// start-up, no config, no lookups. Prints seconds, users per second and command/floor ratios.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseUsersArg } from './args.js';
import { runCli } from './cli-run.js';
import { createDatabase, dropDatabase, startBenchServer, withClient } from './environment.js';

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const s = (ms: number): string => (ms / 1000).toFixed(2);

/** The same rows the command writes, by hand: lock N users and queue one provision-user job each. */
async function floorLock(url: string, usernames: string[]): Promise<number> {
  return withClient(url, async (c) => {
    const started = performance.now();
    await c.query('BEGIN');
    await c.query(
      `WITH locked AS (UPDATE users SET locked_at = now() WHERE username = ANY($1) AND locked_at IS NULL RETURNING user_id)
       INSERT INTO queue_jobs (queue_job_id, queue_name, payload, metadata, created_at)
       SELECT gen_random_uuid(), 'provision-user', jsonb_build_object('user_id', user_id::text, 'set_display_name', NULL), '{}'::jsonb, now() FROM locked`,
      [usernames],
    );
    await c.query('ROLLBACK');
    return performance.now() - started;
  });
}

async function main(): Promise<void> {
  const { users } = parseUsersArg(process.argv.slice(2), 'bench:manage');
  const server = await startBenchServer();
  const dir = mkdtempSync(join(tmpdir(), 'mas-tool-bench-manage-'));
  const name = 'bench_manage_mas';
  try {
    await dropDatabase(server.adminUrl, name);
    const masUrl = await createDatabase(server.adminUrl, name, 'mas-schema.sql');
    const pgVersion = await withClient(server.adminUrl, async (c) => (await c.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v ?? '');
    process.stdout.write(`mas-tool manage benchmark: ${fmt(users)} users; node ${process.version}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; ${pgVersion.split(' on ')[0]}\n`);
    await withClient(masUrl, (c) =>
      c.query(`INSERT INTO users (user_id, username, created_at) SELECT gen_random_uuid(), 'user' || i, now() - interval '1 day' FROM generate_series(1, $1::int) AS i`, [users]),
    );
    const usernames = Array.from({ length: users }, (_, i) => `user${i + 1}`);
    const file = join(dir, 'users.txt');
    writeFileSync(file, `${usernames.join('\n')}\n`);
    const config = join(dir, 'mas.yaml');
    writeFileSync(config, stringify({ database: { uri: masUrl }, matrix: { homeserver: 'bench.example.org', endpoint: 'http://127.0.0.1:1/' } }));
    const args = ['--from-file', file, '-c', config, '--via', 'db', '--json'];

    const floorMs = await floorLock(masUrl, usernames);
    const lock = await runCli(['manage', 'lock', ...args]);
    if (lock.code !== 0) throw new Error(`manage lock failed (exit ${lock.code}):\n${lock.stderr.slice(-3000)}`);
    const again = await runCli(['manage', 'lock', ...args]);
    if (again.code !== 0) throw new Error(`manage lock (again) failed (exit ${again.code}):\n${again.stderr.slice(-3000)}`);
    const unlock = await runCli(['manage', 'unlock', ...args]);
    if (unlock.code !== 0) throw new Error(`manage unlock failed (exit ${unlock.code}):\n${unlock.stderr.slice(-3000)}`);
    const jobs = await withClient(masUrl, async (c) => (await c.query<{ n: number }>("SELECT count(*)::int AS n FROM queue_jobs WHERE queue_name = 'provision-user'")).rows[0]?.n ?? 0);
    if (jobs !== 2 * users) throw new Error(`expected ${2 * users} provision-user jobs (lock and unlock), found ${jobs}`);

    const row = (label: string, ms: number) => `${label.padEnd(34)}${s(ms).padStart(8)} s${fmt((users * 1000) / ms).padStart(12)} users/s${(ms / floorMs).toFixed(2).padStart(9)} x floor\n`;
    process.stdout.write('\n');
    process.stdout.write(row('floor (one UPDATE + one INSERT)', floorMs));
    process.stdout.write(row('manage lock --from-file', lock.wallMs));
    process.stdout.write(row('manage lock again (all unchanged)', again.wallMs));
    process.stdout.write(row('manage unlock --from-file', unlock.wallMs));
    process.stdout.write(`peak RSS of mas-tool: lock ${fmt(lock.maxRssKb / 1024)} MiB, unlock ${fmt(unlock.maxRssKb / 1024)} MiB\n`);
    process.stdout.write(
      `BENCH_RESULT ${JSON.stringify({ users, floorMs, lockMs: lock.wallMs, unchangedMs: again.wallMs, unlockMs: unlock.wallMs, lockRatio: lock.wallMs / floorMs, maxRssKb: lock.maxRssKb })}\n`,
    );
  } finally {
    await dropDatabase(server.adminUrl, name).catch(() => undefined);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
