// `npm run bench:manage -- --users N`: bulk manage commands on the MAS database, at N users and at
// N/10. For each size, N users are put in an empty MAS database, then `manage lock --from-file`
// (every user), the same again (everything unchanged) and `manage unlock --from-file` run as users
// run them (built CLI, a process of its own, peak RSS measured). The floor is the same change done
// by hand in one transaction: one UPDATE and one INSERT of the provision-user jobs, no node start-up,
// no config, no lookups. Prints seconds, users per second, command/floor ratios, and how peak RSS at
// N compares with peak RSS at N/10 (bulk manage streams its input in batches, so it should not grow).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseUsersArg } from './args.js';
import { runCli, type CliRun } from './cli-run.js';
import { createDatabase, dropDatabase, startBenchServer, withClient, type BenchServer } from './environment.js';

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const s = (ms: number): string => (ms / 1000).toFixed(2);
const mib = (kb: number): string => `${fmt(kb / 1024)} MiB`;

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

interface SizeResult {
  users: number;
  floorMs: number;
  lock: CliRun;
  again: CliRun;
  unlock: CliRun;
}

async function ok(args: string[], what: string): Promise<CliRun> {
  const r = await runCli(args);
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
  return r;
}

async function measure(server: BenchServer, dir: string, users: number): Promise<SizeResult> {
  const name = `bench_manage_mas_${users}`;
  await dropDatabase(server.adminUrl, name);
  const masUrl = await createDatabase(server.adminUrl, name, 'mas-schema.sql');
  try {
    await withClient(masUrl, (c) =>
      c.query(`INSERT INTO users (user_id, username, created_at) SELECT gen_random_uuid(), 'user' || i, now() - interval '1 day' FROM generate_series(1, $1::int) AS i`, [users]),
    );
    await withClient(masUrl, (c) => c.query('ANALYZE users'));
    const usernames = Array.from({ length: users }, (_, i) => `user${i + 1}`);
    const file = join(dir, `users-${users}.txt`);
    writeFileSync(file, `${usernames.join('\n')}\n`);
    const config = join(dir, `mas-${users}.yaml`);
    writeFileSync(config, stringify({ database: { uri: masUrl }, matrix: { homeserver: 'bench.example.org', endpoint: 'http://127.0.0.1:1/' } }));
    const args = ['--from-file', file, '-c', config, '--via', 'db', '--json'];

    const floorMs = await floorLock(masUrl, usernames);
    const lock = await ok(['manage', 'lock', ...args], 'manage lock');
    const again = await ok(['manage', 'lock', ...args], 'manage lock (again)');
    const unlock = await ok(['manage', 'unlock', ...args], 'manage unlock');
    const jobs = await withClient(masUrl, async (c) => (await c.query<{ n: number }>("SELECT count(*)::int AS n FROM queue_jobs WHERE queue_name = 'provision-user'")).rows[0]?.n ?? 0);
    if (jobs !== 2 * users) throw new Error(`expected ${2 * users} provision-user jobs (lock and unlock), found ${jobs}`);
    const items = (lock.json.items as unknown[] | undefined)?.length ?? 0;
    if (items !== users) throw new Error(`expected ${users} items in the --json document of lock, found ${items}`);
    return { users, floorMs, lock, again, unlock };
  } finally {
    await dropDatabase(server.adminUrl, name).catch(() => undefined);
  }
}

function report(r: SizeResult): void {
  const row = (label: string, ms: number) => `${label.padEnd(34)}${s(ms).padStart(8)} s${fmt((r.users * 1000) / ms).padStart(12)} users/s${(ms / r.floorMs).toFixed(2).padStart(9)} x floor\n`;
  process.stdout.write(`\n${fmt(r.users)} users\n`);
  process.stdout.write(row('floor (one UPDATE + one INSERT)', r.floorMs));
  process.stdout.write(row('manage lock --from-file', r.lock.wallMs));
  process.stdout.write(row('manage lock again (all unchanged)', r.again.wallMs));
  process.stdout.write(row('manage unlock --from-file', r.unlock.wallMs));
  process.stdout.write(`peak RSS of mas-tool: lock ${mib(r.lock.maxRssKb)}, lock again ${mib(r.again.maxRssKb)}, unlock ${mib(r.unlock.maxRssKb)}\n`);
}

async function main(): Promise<void> {
  const { users } = parseUsersArg(process.argv.slice(2), 'bench:manage');
  const small = Math.max(1, Math.round(users / 10));
  const server = await startBenchServer();
  const dir = mkdtempSync(join(tmpdir(), 'mas-tool-bench-manage-'));
  try {
    const pgVersion = await withClient(server.adminUrl, async (c) => (await c.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v ?? '');
    process.stdout.write(`mas-tool manage benchmark: ${fmt(small)} and ${fmt(users)} users; node ${process.version}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; ${pgVersion.split(' on ')[0]}\n`);
    const low = await measure(server, dir, small);
    report(low);
    const high = await measure(server, dir, users);
    report(high);
    const peak = (r: SizeResult) => Math.max(r.lock.maxRssKb, r.again.maxRssKb, r.unlock.maxRssKb);
    const rssRatio = peak(high) / peak(low);
    const lockRatio = high.lock.wallMs / high.floorMs;
    process.stdout.write(`\nmemory: peak RSS at ${fmt(users)} users is ${rssRatio.toFixed(2)} x that at ${fmt(small)} (${mib(peak(high))} / ${mib(peak(low))})\n`);
    process.stdout.write(`floor: manage lock at ${fmt(users)} users takes ${lockRatio.toFixed(2)} x its floor (unlock ${(high.unlock.wallMs / high.floorMs).toFixed(2)} x)\n`);
    process.stdout.write(
      `BENCH_RESULT ${JSON.stringify({
        users,
        smallUsers: small,
        floorMs: high.floorMs,
        lockMs: high.lock.wallMs,
        unchangedMs: high.again.wallMs,
        unlockMs: high.unlock.wallMs,
        lockRatio,
        maxRssKb: peak(high),
        smallMaxRssKb: peak(low),
        rssRatio,
      })}\n`,
    );
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
