// Brings a staged MAS database up to date with Synapse by applying only what changed: a refresh
// (`migrate --stage` again, Synapse running) or the cut-over (`migrate`, Synapse stopped, the usual
// locks). One MAS transaction either way: a kill at any moment leaves the stage as it was.
//
// 1. Fingerprint every Synapse user in one pass inside PostgreSQL (fingerprint.ts) and relay the
//    lines into a scratch table in MAS; a FULL JOIN with the staged fingerprints gives the users
//    that changed, appeared or disappeared. Nothing per row crosses into node.
// 2. For those users only, in batches, run the migration's own phases (phases.ts) with queries
//    restricted to them, into scratch tables shaped like the MAS tables. Ids are the stage's (same
//    key, same fixed time), so an unchanged row gets exactly the id it was staged with.
// 3. Compare those users' rows with the scratch rows by primary key: insert what is new, update
//    what differs, delete what is gone. Rows of users whose fingerprint did not change, and rows
//    of changed users that stay the same, are not touched.
// The result is row for row what a full migration of today's Synapse writes with the stage's key and
// time (test/syn2mas/staged.test.ts compares every table with one).
//
// Memory: one batch of user IDs and the rows of the current batch; the sets live in PostgreSQL.
import type pg from 'pg';
import { connect } from '../../db/connection.js';
import { MAS_USER_TABLES, presentTargetTables, type MasSchema, type MasTargetTable, type MasUserTable } from '../../db/mas-schema.js';
import { DatabaseError, MasToolError } from '../../errors.js';
import type { Syn2masContext } from '../context.js';
import { buildPhases, emptyEntities, loadPhases, timedPhase, type PhaseReport, type ProgressState } from '../phases.js';
import { openServingSynapseSnapshot, openSynapseSnapshot, phaseQueries } from '../reader.js';
import { extractLocalpart } from '../transform.js';
import { takeMigrationLock } from '../migration-lock.js';
import { step } from '../writer.js';
import { relayFingerprints } from './fingerprint.js';
import { countTables, dropStage, readSnapshotTime, readSynapseIdentity, STAGE_SCHEMA, writeStage } from './record.js';
import { applyServerRows, type TableDelta } from './server-rows.js';
import { readStageState, stageFindings } from './validate.js';

export interface DeltaReport {
  mode: 'refresh' | 'cutover';
  dryRun: boolean;
  startedAt: string;
  durationMs: number;
  phases: PhaseReport[];
  stage: { createdAt: string; previouslyStagedAt: string; stagedAt: string; refreshes: number };
  /** Synapse users compared, and those whose rows changed, appeared or disappeared since the stage. */
  users: { compared: number; changed: number; added: number; removed: number };
  /** Every target table the MAS schema has (user_registration_tokens only from MAS 0.17 on). */
  tables: Partial<Record<MasTargetTable, TableDelta>>;
}

export interface DeltaOptions {
  dryRun: boolean;
  /** true: the cut-over (Synapse stopped, the stage removed at the end); false: a refresh. */
  cutover: boolean;
  providerMapping: ReadonlyMap<string, string>;
  skippedProviders: ReadonlySet<string>;
  progress?: ProgressState;
  /** Users per batch of restricted reads (default 5,000). */
  batchUsers?: number;
}

/** The primary key of each MAS table, and which rows of it belong to the users in stage_affected. */
/**
 * The primary key of each MAS table, and which of its rows belong to the users in stage_affected
 * (a condition on the table's alias `x.`, which the caller writes before it).
 */
const OWNED_BY_USER = 'user_id IN (SELECT user_id FROM pg_temp.stage_affected)';
const OWNED_BY_SESSION = `compat_session_id IN (SELECT compat_session_id FROM compat_sessions WHERE user_id IN (SELECT user_id FROM pg_temp.stage_affected))`;
const TABLES: Record<MasUserTable, { key: readonly string[]; owned: string }> = {
  users: { key: ['user_id'], owned: OWNED_BY_USER },
  user_passwords: { key: ['user_password_id'], owned: OWNED_BY_USER },
  user_emails: { key: ['user_email_id'], owned: OWNED_BY_USER },
  user_unsupported_third_party_ids: { key: ['user_id', 'medium', 'address'], owned: OWNED_BY_USER },
  upstream_oauth_links: { key: ['upstream_oauth_link_id'], owned: OWNED_BY_USER },
  compat_sessions: { key: ['compat_session_id'], owned: OWNED_BY_USER },
  compat_access_tokens: { key: ['compat_access_token_id'], owned: OWNED_BY_SESSION },
  compat_refresh_tokens: { key: ['compat_refresh_token_id'], owned: OWNED_BY_SESSION },
};
const scratch = (table: string): string => `pg_temp.mas_tool_new_${table}`;

export async function runDelta(ctx: Syn2masContext, masSchema: MasSchema, options: DeltaOptions): Promise<DeltaReport> {
  const started = performance.now();
  const progress: ProgressState = options.progress ?? { stage: 'setup', phase: 'setup', done: 0, total: undefined };
  const batchUsers = options.batchUsers ?? 5000;
  const phaseReports: PhaseReport[] = [];
  const timed = <T>(name: string, what: string, fn: () => Promise<T>): Promise<T> => timedPhase(phaseReports, progress, name, what, () => step(what, fn));
  const userTables = Object.fromEntries(MAS_USER_TABLES.map((t) => [t, { inserted: 0, updated: 0, deleted: 0 }])) as Record<MasUserTable, TableDelta>;
  const tables: Partial<Record<MasTargetTable, TableDelta>> = { ...userTables };

  const synapse = await connect(ctx.synapseDb);
  let mas: pg.Client | undefined;
  let masOpen = false;
  try {
    const m = await connect(ctx.masDb);
    mas = m;
    progress.stage = 'setup';
    // The cut-over locks Synapse as a full migration does (it must be stopped); a refresh reads it
    // in a plain snapshot while it serves, as the first stage did.
    if (options.cutover) await openSynapseSnapshot(synapse, { dryRun: options.dryRun });
    else await openServingSynapseSnapshot(synapse);
    const state = await timed('setup', 'opening the MAS transaction', async () => {
      await m.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      masOpen = true;
      await takeMigrationLock(m);
      try {
        await m.query(`LOCK TABLE ${[...presentTargetTables(masSchema), `${STAGE_SCHEMA}.stage`, `${STAGE_SCHEMA}.users`].join(', ')} IN ACCESS EXCLUSIVE MODE NOWAIT`);
      } catch (cause) {
        throw new DatabaseError('locking the staged MAS tables: another session is using them; is MAS running?', cause, {
          hint: 'Stop MAS (the server and any worker): a staged database must not be served before the cut-over.',
        });
      }
      return readStageState(m);
    });
    if (state === undefined) {
      throw new MasToolError('MAS_TOOL_NO_STAGE', 'The MAS database holds no stage to bring up to date.', {
        hint: 'Stage first with `mas-tool syn2mas migrate --stage`, or migrate in one go with `mas-tool syn2mas migrate`.',
      });
    }
    const identity = await step('reading the Synapse identity', () => readSynapseIdentity(synapse, ctx.synapse.serverName));
    const problems = stageFindings({
      state,
      identity,
      providerMapping: options.providerMapping,
      skippedProviders: options.skippedProviders,
      masMigration: masSchema.latestMigration,
      now: Date.now(),
    }).filter((f) => f.severity === 'error');
    const first = problems[0];
    if (first !== undefined) {
      throw new MasToolError(`MAS_TOOL_${first.code.replace(/^E_/, '')}`, first.message, { hint: first.fix ?? 'Run `mas-tool syn2mas check`.', exitCode: 10 });
    }
    const record = state.record;

    // 1. Who changed.
    progress.stage = 'finish';
    const users = await timed('fingerprints', 'fingerprinting the Synapse users', async () => {
      await m.query('CREATE TEMP TABLE stage_now (name text NOT NULL, fingerprint text NOT NULL) ON COMMIT DROP');
      await relayFingerprints(synapse, record.fingerprint, m, 'pg_temp.stage_now');
      await m.query(
        `CREATE TEMP TABLE stage_dirty ON COMMIT DROP AS
           SELECT coalesce(n.name, o.name) AS name, o.name IS NULL AS added, n.name IS NULL AS removed
             FROM pg_temp.stage_now n FULL JOIN ${STAGE_SCHEMA}.users o ON o.name = n.name
            WHERE n.fingerprint IS DISTINCT FROM o.fingerprint`,
      );
      await m.query('ALTER TABLE pg_temp.stage_dirty ADD PRIMARY KEY (name)');
      const { rows } = await m.query<{ compared: number; changed: number; added: number; removed: number }>(
        `SELECT (SELECT count(*) FROM pg_temp.stage_now)::int AS compared, count(*) FILTER (WHERE NOT added AND NOT removed)::int AS changed,
                count(*) FILTER (WHERE added)::int AS added, count(*) FILTER (WHERE removed)::int AS removed FROM pg_temp.stage_dirty`,
      );
      return rows[0] ?? { compared: 0, changed: 0, added: 0, removed: 0 };
    });

    // 2 and 3. Their rows, batch by batch.
    // IdPs whose links are all gone since the stage are missing from this run's mapping: keep the
    // stage's (validation made sure the two agree where both have an IdP).
    const providerMapping = new Map([...Object.entries(record.providerMapping), ...options.providerMapping]);
    const { phases, encoders } = buildPhases({
      serverName: ctx.synapse.serverName,
      masSchema,
      providerMapping,
      skippedProviders: options.skippedProviders,
      now: record.now,
      idSecret: Buffer.from(record.idSecret, 'hex'),
    });
    const columns = {} as Record<MasTargetTable, readonly string[]>;
    for (const e of Object.values(encoders)) columns[e.table] = e.columns;
    await step('preparing the scratch tables', async () => {
      for (const t of MAS_USER_TABLES) await m.query(`CREATE TEMP TABLE mas_tool_new_${t} ON COMMIT DROP AS SELECT ${columns[t].join(', ')} FROM ${t} WITH NO DATA`);
      await m.query('CREATE TEMP TABLE stage_affected (user_id uuid PRIMARY KEY) ON COMMIT DROP');
    });
    // The reads below are of a few thousand users at a time, by the indexed user ID columns: index
    // lookups are the right plan, not the whole-table hash joins the bulk settings force, nor
    // parallel workers that each build the same hash for a few thousand rows.
    await step('preparing the reads of the changed users', async () => {
      for (const setting of ['enable_nestloop = on', 'enable_seqscan = off', 'max_parallel_workers_per_gather = 0']) await synapse.query(`SET LOCAL ${setting}`);
    });
    const entities = emptyEntities();
    const temporaryIndexes = await timed('index foreign keys', 'indexing foreign keys for the deletes', () => indexUnindexedForeignKeys(m));
    let after = '';
    const loadStarted = performance.now();
    const applyReports: PhaseReport[] = [];
    for (;;) {
      const { rows } = await step('reading the changed users', () =>
        m.query<{ name: string }>('SELECT name FROM pg_temp.stage_dirty WHERE name > $1 ORDER BY name LIMIT $2', [after, batchUsers]),
      );
      if (rows.length === 0) break;
      const names = rows.map((r) => r.name);
      after = names[names.length - 1] ?? after;
      await step('emptying the scratch tables', () => m.query(`TRUNCATE ${MAS_USER_TABLES.map(scratch).join(', ')}, pg_temp.stage_affected`));
      await loadPhases({
        synapse,
        mas: m,
        phases: phases.filter((p) => p.serverWide !== true),
        encoders,
        queries: phaseQueries(ctx.synapse.serverName, (s) => synapse.escapeLiteral(s), names),
        entities,
        phaseReports: applyReports,
        progress,
        tableFor: scratch,
      });
      progress.stage = 'finish';
      progress.phase = 'applying the changes';
      // A user ID of another server (a foreign row that changed) has no MAS user to look up.
      const localparts = names.flatMap((n) => {
        try {
          return [extractLocalpart(n, ctx.synapse.serverName)];
        } catch {
          return [];
        }
      });
      const applyStarted = performance.now();
      await step('applying the changes of one batch of users', () => applyBatch(m, columns, localparts, userTables));
      applyReports.push({ name: 'apply', status: 'done', ms: performance.now() - applyStarted });
    }
    // Each phase and the apply step once, summed over the batches.
    for (const r of applyReports) {
      const name = `changed users: ${r.name}`;
      const seen = phaseReports.find((p) => p.name === name);
      if (seen === undefined) phaseReports.push({ ...r, name });
      else seen.ms += r.ms;
    }
    phaseReports.push({ name: 'changed users', status: 'done', ms: performance.now() - loadStarted });
    // Registration tokens belong to no user: all of them, read again (server-rows.ts).
    await step('applying the registration tokens', () =>
      applyServerRows({
        synapse,
        mas: m,
        phases: phases.filter((p) => p.serverWide === true),
        encoders,
        queries: phaseQueries(ctx.synapse.serverName, (s) => synapse.escapeLiteral(s)),
        entities,
        phaseReports,
        progress,
        tables,
      }),
    );

    await step('dropping the temporary indexes', async () => {
      for (const name of temporaryIndexes) await m.query(`DROP INDEX ${name}`);
    });
    const stagedAt = await step('reading the snapshot time', () => readSnapshotTime(synapse));
    await synapse.query('COMMIT');
    if (options.cutover) {
      await timed('remove the stage', 'removing the stage', () => dropStage(m));
    } else {
      await timed('record the stage', 'recording the stage', async () => {
        await m.query(`DELETE FROM ${STAGE_SCHEMA}.users WHERE name IN (SELECT name FROM pg_temp.stage_dirty)`);
        await m.query(`INSERT INTO ${STAGE_SCHEMA}.users (name, fingerprint) SELECT n.name, n.fingerprint FROM pg_temp.stage_now n JOIN pg_temp.stage_dirty d ON d.name = n.name`);
        await writeStage(m, { ...record, stagedAt, refreshes: record.refreshes + 1, tableCounts: await countTables(m) });
      });
    }
    await timed(options.dryRun ? 'roll back (dry run)' : 'commit', options.dryRun ? 'rolling back (dry run)' : 'committing', () =>
      m.query(options.dryRun ? 'ROLLBACK' : 'COMMIT'),
    );
    masOpen = false;
    progress.stage = 'done';
    return {
      mode: options.cutover ? 'cutover' : 'refresh',
      dryRun: options.dryRun,
      startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
      durationMs: performance.now() - started,
      phases: phaseReports,
      stage: { createdAt: record.createdAt, previouslyStagedAt: record.stagedAt, stagedAt, refreshes: record.refreshes + (options.cutover ? 0 : 1) },
      users,
      tables,
    };
  } finally {
    if (masOpen) await mas?.query('ROLLBACK').catch(() => undefined);
    await mas?.end().catch(() => undefined);
    await synapse.end().catch(() => undefined);
  }
}

/**
 * Every delete of a row checks the foreign keys that point at it. Where the referencing column has no
 * index (user_passwords.upgraded_from_id in MAS), that check scans the whole referencing table once
 * per deleted row: quadratic, and 30 s for 3,700 changed users at 100k users. An index for the
 * length of this transaction makes each check a lookup; the indexes are dropped before it commits.
 */
async function indexUnindexedForeignKeys(mas: pg.Client): Promise<string[]> {
  const { rows } = await mas.query<{ tbl: string; cols: string }>(
    `SELECT c.conrelid::regclass::text AS tbl, string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord) AS cols
       FROM pg_constraint c
       CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
      WHERE c.contype = 'f' AND c.confrelid = ANY($1::regclass[])
        AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid
                          AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] = c.conkey)
      GROUP BY c.oid, c.conrelid ORDER BY 1, 2`,
    [MAS_USER_TABLES],
  );
  const names: string[] = [];
  for (const [i, r] of rows.entries()) {
    const name = `mas_tool_stage_fk_${i}`;
    await mas.query(`CREATE INDEX ${name} ON ${r.tbl} (${r.cols})`);
    names.push(name);
  }
  return names;
}

/**
 * Turns the MAS rows of one batch of users into the rows in the scratch tables, touching only what
 * differs: rows whose key is new are inserted, rows whose key stays but whose values differ are
 * updated in place, rows whose key is gone are deleted; the statements' row counts are the report.
 * The order keeps every foreign key and unique constraint satisfied at each statement:
 * 1. gone rows that nothing staying refers to, and that could hold a unique value a new row takes
 *    (a link moved to another user gets a new id, its (provider, subject) stays);
 * 2. new rows, parents first; 3. changed rows (a token may now point at a session inserted in 2);
 * 4. gone sessions and users, once nothing refers to them any more.
 */
async function applyBatch(
  mas: pg.Client,
  columns: Record<MasUserTable, readonly string[]>,
  localparts: readonly string[],
  tables: Record<MasUserTable, TableDelta>,
): Promise<void> {
  for (const t of MAS_USER_TABLES) await mas.query(`ANALYZE ${scratch(t)}`);
  // The users of the batch as staged (found by username) and as they are now.
  await mas.query(
    `INSERT INTO pg_temp.stage_affected SELECT user_id FROM users WHERE username = ANY($1::text[])
     UNION SELECT user_id FROM ${scratch('users')}`,
    [localparts],
  );
  await mas.query('ANALYZE pg_temp.stage_affected');
  // A batch touches a few thousand rows of tables of millions: the planner, costing a scan of the
  // whole table against thousands of index lookups, chose the scan (a hash join over all 250,000
  // sessions at 100k users, per statement). The downtime should grow with the changes, so the
  // staged tables are reached by their indexes; the scratch tables have none and are scanned.
  await mas.query('SET LOCAL enable_seqscan = off');
  const keyMatch = (t: MasUserTable, a: string, b: string): string => TABLES[t].key.map((k) => `${a}.${k} = ${b}.${k}`).join(' AND ');
  const row = (t: MasUserTable, alias: string): string => `ROW(${columns[t].map((c) => `${alias}.${c}`).join(', ')})`;
  const count = async (sql: string): Promise<number> => (await mas.query(sql)).rowCount ?? 0;
  const deleteGone = async (t: MasUserTable): Promise<void> => {
    tables[t].deleted += await count(
      `DELETE FROM ${t} x WHERE x.${TABLES[t].owned} AND NOT EXISTS (SELECT 1 FROM ${scratch(t)} n WHERE ${keyMatch(t, 'n', 'x')})`,
    );
  };
  for (const t of ['compat_refresh_tokens', 'compat_access_tokens', 'upstream_oauth_links', 'user_emails', 'user_passwords', 'user_unsupported_third_party_ids'] as const) {
    await deleteGone(t);
  }
  // New and changed keys: each scratch row looks its key up in the table's primary key (a hash join
  // read the whole key index instead).
  await mas.query('SET LOCAL enable_hashjoin = off');
  for (const t of MAS_USER_TABLES) {
    const cols = columns[t].join(', ');
    tables[t].inserted += await count(
      `INSERT INTO ${t} (${cols}) SELECT ${columns[t].map((c) => `n.${c}`).join(', ')} FROM ${scratch(t)} n
        WHERE NOT EXISTS (SELECT 1 FROM ${t} x WHERE ${keyMatch(t, 'x', 'n')})`,
    );
  }
  for (const t of MAS_USER_TABLES) {
    // The key columns are equal by the join: setting them again would make every update a key
    // update, with index entries written anew and foreign keys checked.
    const values = columns[t].filter((c) => !TABLES[t].key.includes(c));
    if (values.length === 0) continue;
    tables[t].updated += await count(
      `UPDATE ${t} x SET (${values.join(', ')}) = ROW(${values.map((c) => `n.${c}`).join(', ')}) FROM ${scratch(t)} n
        WHERE ${keyMatch(t, 'x', 'n')} AND ${row(t, 'x')} IS DISTINCT FROM ${row(t, 'n')}`,
    );
  }
  await mas.query('SET LOCAL enable_hashjoin TO DEFAULT');
  await deleteGone('compat_sessions');
  await deleteGone('users');
  await mas.query('SET LOCAL enable_seqscan TO DEFAULT');
}
