// `npm run bench -- --staged --users N`: the staged migration against a full one, in one run.
// Generates N users, stages them with `syn2mas migrate --stage` while a second connection changes
// about 1% of Synapse (every kind of change the cut-over must carry), then times the cut-over
// (`syn2mas migrate` on the staged database) against a full `syn2mas migrate` of the same final
// Synapse into an empty database. Both are whole commands, checks included, each in a process of its
// own. Then the cut-over's tables are compared row for row (ids included) with a full migration made
// with the stage's id key and time, which is what the cut-over promises to equal.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { connect } from '../src/db/connection.js';
import { inspectMasSchema, MAS_TARGET_TABLES } from '../src/db/mas-schema.js';
import { loadSyn2masContext } from '../src/syn2mas/context.js';
import { runMigration } from '../src/syn2mas/migrate.js';
import type { DeltaReport } from '../src/syn2mas/stage/delta.js';
import type { StageRecord } from '../src/syn2mas/stage/record.js';
import { runCli } from './cli-run.js';
import { createDatabase, dropDatabase, GITHUB_PROVIDER_ULID, KEYCLOAK_PROVIDER_ULID, withClient, writeConfigs, type BenchServer } from './environment.js';
import { GENERATED_TABLES, generateSynapseData } from './generate.js';

/** The cut-over must take at most this fraction of a full migration (the issue's bar; the aim is 0.1). */
export const MAX_CUTOVER_RATIO = 0.25;

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const s = (ms: number): string => (ms / 1000).toFixed(2);

/**
 * About 1% of the users change, each statement in its own transaction as Synapse would commit them:
 * new users with an email, a device and a token; passwords; emails changed and removed; phone
 * numbers and SSO links removed; devices seen again, and removed with their tokens; tokens used
 * again; refresh rotations confirmed; users locked, made admin, deactivated.
 */
function churnStatements(serverName: string, users: number): string[] {
  const server = `'${serverName}'`;
  const pick = (expr: string, perMille: number): string => `abs(hashtext(${expr})) % 1000 < ${perMille}`;
  const nowMs = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;
  const newUsers = Math.max(1, Math.round(users / 500));
  return [
    `INSERT INTO users (name, password_hash, creation_ts, shadow_banned, admin, is_guest, deactivated, locked)
       SELECT '@staged_new_' || i || ':' || ${server}, '$2b$12$' || rpad(md5('new' || i), 53, 'x'), extract(epoch from now())::bigint, false, 0, 0, 0, false
         FROM generate_series(1, ${newUsers}) i`,
    `INSERT INTO user_threepids (user_id, medium, address, validated_at, added_at)
       SELECT '@staged_new_' || i || ':' || ${server}, 'email', 'staged_new_' || i || '@example.org', ${nowMs}, ${nowMs} FROM generate_series(1, ${newUsers}) i`,
    `INSERT INTO devices (user_id, device_id, display_name, last_seen, ip, user_agent, hidden)
       SELECT '@staged_new_' || i || ':' || ${server}, 'NEWDEVICE', 'Element', ${nowMs}, '192.0.2.1', 'Element/1', false FROM generate_series(1, ${newUsers}) i`,
    `INSERT INTO access_tokens (id, user_id, device_id, token, last_validated, used)
       SELECT (SELECT max(id) FROM access_tokens) + i, '@staged_new_' || i || ':' || ${server}, 'NEWDEVICE', 'syt_c3RhZ2Vk_' || md5('t' || i) || '_0abcde', ${nowMs}, false
         FROM generate_series(1, ${newUsers}) i`,
    `UPDATE users SET password_hash = '$2b$12$' || rpad(md5(name || 'changed'), 53, 'y') WHERE password_hash IS NOT NULL AND deactivated = 0 AND ${pick(`name || 'pw'`, 1)}`,
    `UPDATE user_threepids SET address = 'changed.' || address WHERE medium = 'email' AND ${pick(`user_id || address || 'em'`, 1)}`,
    `DELETE FROM user_threepids WHERE ${pick(`user_id || address || 'del'`, 1)}`,
    `DELETE FROM user_external_ids WHERE ${pick(`external_id || 'sso'`, 5)}`,
    `UPDATE devices SET last_seen = ${nowMs}, ip = '198.51.100.200', user_agent = 'Element/9.9' WHERE hidden = false AND ${pick(`user_id || device_id || 'seen'`, 1)}`,
    `WITH gone AS (SELECT user_id, device_id FROM devices WHERE hidden = false AND ${pick(`user_id || device_id || 'gone'`, 1)}),
          t AS (DELETE FROM access_tokens a USING gone g WHERE a.user_id = g.user_id AND a.device_id = g.device_id),
          r AS (DELETE FROM refresh_tokens x USING gone g WHERE x.user_id = g.user_id AND x.device_id = g.device_id)
     DELETE FROM devices d USING gone g WHERE d.user_id = g.user_id AND d.device_id = g.device_id`,
    `UPDATE access_tokens SET last_validated = ${nowMs} WHERE ${pick(`token || 'again'`, 1)}`,
    `UPDATE access_tokens SET used = true WHERE refresh_token_id IS NOT NULL AND used IS NOT TRUE AND ${pick(`token || 'rot'`, 30)}`,
    `UPDATE users SET locked = true WHERE ${pick(`name || 'lock'`, 1)}`,
    `UPDATE users SET admin = 1 WHERE ${pick(`name || 'admin'`, 1)}`,
    `UPDATE users SET deactivated = 1, password_hash = NULL WHERE ${pick(`name || 'deact'`, 1)}`,
  ];
}

/** Row count and digest of each MAS table, ids included. */
async function tableDigests(url: string): Promise<Record<string, string>> {
  return withClient(url, async (c) => {
    const out: Record<string, string> = {};
    for (const t of MAS_TARGET_TABLES) {
      const { rows } = await c.query<{ n: string; d: string | null }>(
        `SELECT count(*)::text AS n, md5(string_agg(j, '|' ORDER BY j)) AS d FROM (SELECT row_to_json(x)::text AS j FROM ${t} x) y`,
      );
      out[t] = `${rows[0]?.n}:${rows[0]?.d ?? ''}`;
    }
    return out;
  });
}

export async function runStagedBench(server: BenchServer, users: number, write: (t: string) => void): Promise<boolean> {
  const serverName = 'bench.example.org';
  const names = { synapse: 'bench_staged_synapse', staged: 'bench_staged_mas', full: 'bench_staged_full', exact: 'bench_staged_exact' };
  const dir = mkdtempSync(join(tmpdir(), 'mas-tool-staged-'));
  try {
    for (const n of Object.values(names)) await dropDatabase(server.adminUrl, n);
    const synapseUrl = await createDatabase(server.adminUrl, names.synapse, 'synapse-schema.sql');
    const stagedUrl = await createDatabase(server.adminUrl, names.staged, 'mas-schema.sql');
    const fullUrl = await createDatabase(server.adminUrl, names.full, 'mas-schema.sql');
    const exactUrl = await createDatabase(server.adminUrl, names.exact, 'mas-schema.sql');
    await withClient(synapseUrl, (c) => generateSynapseData(c, { users, serverName, seed: 1 }));
    // As a homeserver's tables are: vacuumed (see growth.ts).
    await withClient(synapseUrl, (c) => c.query(`VACUUM (ANALYZE) ${GENERATED_TABLES.join(', ')}`));
    const staged = await writeConfigs(mkdtempSync(join(dir, 'staged-')), { synapseUrl, masUrl: stagedUrl, serverName });
    const full = await writeConfigs(mkdtempSync(join(dir, 'full-')), { synapseUrl, masUrl: fullUrl, serverName });
    const exact = await writeConfigs(mkdtempSync(join(dir, 'exact-')), { synapseUrl, masUrl: exactUrl, serverName });

    // The stage, with Synapse changing underneath it.
    let stageDone = false;
    const stageRun = runCli(['syn2mas', 'migrate', '--stage', '--json', ...staged.args]).finally(() => {
      stageDone = true;
    });
    const churn = new pg.Client({ connectionString: synapseUrl });
    await churn.connect();
    let changedRows = 0;
    try {
      // Wait until the stage reads Synapse (its snapshot is then taken), so that every change comes after it.
      const deadline = Date.now() + 600_000;
      for (;;) {
        const { rows } = await churn.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'COPY (%' AND state = 'active'`,
          [names.synapse],
        );
        if (rows.length > 0) break;
        if (stageDone) {
          const r = await stageRun;
          if (r.code !== 0) throw new Error(`the stage failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
          // A small stage can finish between two looks: the changes then all come after it, which
          // is what matters for the cut-over.
          break;
        }
        if (Date.now() > deadline) throw new Error('the stage never started reading Synapse');
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const sql of churnStatements(serverName, users)) changedRows += (await churn.query(sql)).rowCount ?? 0;
    } finally {
      await churn.end();
    }
    const stageResult = await stageRun;
    if (stageResult.code !== 0) throw new Error(`the stage failed (exit ${stageResult.code}):\n${stageResult.stderr.slice(-3000)}`);
    const record = await withClient(stagedUrl, async (c) => (await c.query<{ record: StageRecord }>('SELECT record FROM mas_tool_stage.stage')).rows[0]?.record);
    if (record === undefined) throw new Error('the stage left no record');

    const cut = await runCli(['syn2mas', 'migrate', '--json', ...staged.args]);
    if (cut.code !== 0) throw new Error(`the cut-over failed (exit ${cut.code}):\n${cut.stderr.slice(-3000)}`);
    const fullRun = await runCli(['syn2mas', 'migrate', '--json', ...full.args]);
    if (fullRun.code !== 0) throw new Error(`the full migration failed (exit ${fullRun.code}):\n${fullRun.stderr.slice(-3000)}`);

    // What the cut-over must equal: a full migration of the final Synapse with the stage's key and time.
    const ctx = loadSyn2masContext({ masConfigPaths: [exact.masConfig], synapseConfigPaths: [exact.homeserverYaml], env: {} });
    const probe = await connect(ctx.masDb);
    const schema = await inspectMasSchema(probe).finally(() => probe.end());
    await runMigration(ctx, schema, {
      dryRun: false,
      providerMapping: new Map([
        ['oidc-github', GITHUB_PROVIDER_ULID],
        ['oidc-keycloak', KEYCLOAK_PROVIDER_ULID],
      ]),
      skippedProviders: new Set(),
      idSecret: Buffer.from(record.idSecret, 'hex'),
      now: record.now,
    });
    const [got, want] = await Promise.all([tableDigests(stagedUrl), tableDigests(exactUrl)]);
    const differing = MAS_TARGET_TABLES.filter((t) => got[t] !== want[t]);

    const delta = cut.json.delta as DeltaReport;
    const stageMs = (stageResult.json.migration as { durationMs: number }).durationMs;
    const fullMs = (fullRun.json.migration as { durationMs: number }).durationMs;
    const ratio = cut.wallMs / fullRun.wallMs;
    write(`staged ${fmt(users)} users in ${s(stageMs)} s (${s(stageResult.wallMs)} s wall) while ${fmt(changedRows)} Synapse rows changed\n`);
    write(`cut-over: ${fmt(delta.users.changed)} users changed, ${fmt(delta.users.added)} new, ${fmt(delta.users.removed)} gone, of ${fmt(delta.users.compared)}\n`);
    for (const p of delta.phases) write(`  ${p.name.padEnd(28)}${s(p.ms).padStart(8)} s\n`);
    write(`  ${'table'.padEnd(28)}${'inserted'.padStart(10)}${'updated'.padStart(10)}${'deleted'.padStart(10)}\n`);
    for (const [t, d] of Object.entries(delta.tables)) write(`  ${t.padEnd(28)}${fmt(d.inserted).padStart(10)}${fmt(d.updated).padStart(10)}${fmt(d.deleted).padStart(10)}\n`);
    write(`\ncut-over command: ${s(cut.wallMs)} s wall (${s(delta.durationMs)} s applying the changes, the rest the check and start-up)\n`);
    write(`full migrate command: ${s(fullRun.wallMs)} s wall (${s(fullMs)} s migrating)\n`);
    write(`cut-over/full: ${ratio.toFixed(3)} (commands, wall); ${(delta.durationMs / fullMs).toFixed(3)} (migration steps alone); bar ${MAX_CUTOVER_RATIO}\n`);
    write(`peak RSS: stage ${fmt(stageResult.maxRssKb / 1024)} MiB, cut-over ${fmt(cut.maxRssKb / 1024)} MiB, full ${fmt(fullRun.maxRssKb / 1024)} MiB\n`);
    write(differing.length === 0 ? `tables after the cut-over: identical to a full migration with the stage's key (all ${MAS_TARGET_TABLES.length}, ids included)\n` : `tables that DIFFER from a full migration: ${differing.join(', ')}\n`);
    write(
      `BENCH_STAGED ${JSON.stringify({ users, changedRows, stageMs, cutoverWallMs: cut.wallMs, cutoverMs: delta.durationMs, fullWallMs: fullRun.wallMs, fullMs, ratio, stageRssKb: stageResult.maxRssKb, cutoverRssKb: cut.maxRssKb, identical: differing.length === 0 })}\n`,
    );
    return differing.length === 0;
  } finally {
    for (const n of Object.values(names)) await dropDatabase(server.adminUrl, n).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
