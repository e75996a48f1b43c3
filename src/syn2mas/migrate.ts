// Joins the Synapse reader and the MAS writer: one COPY stream per MAS table, rows transformed on
// the way (phases.ts), counted as migrated or skipped by reason. Runs no safety checks itself; the
// command runs the check first (check.ts) and only calls this when there is no error.
//
// With `stage`, the same full load is the first run of a staged migration (stage/): Synapse is read
// in a plain read-only snapshot without locks, so it keeps serving, and the MAS transaction also
// records the stage (the key of the ids, the fixed time, a fingerprint per Synapse user, read in the
// same snapshot) and commits. Later runs apply only what changed (stage/delta.ts).
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { connect, describeTarget } from '../db/connection.js';
import { presentTargetTables, type MasSchema, type MasTargetTable } from '../db/mas-schema.js';
import { DatabaseError } from '../errors.js';
import type { Syn2masContext } from './context.js';
import { buildPhases, emptyEntities, loadPhases, timedPhase, type Entity, type EntityCount, type PhaseReport, type ProgressState, type StreamedCounts } from './phases.js';
import { openServingSynapseSnapshot, openSynapseSnapshot, phaseQueries } from './reader.js';
import { fingerprintKindFor, relayFingerprints, type FingerprintKind } from './stage/fingerprint.js';
import { countTables, createStageTables, indexStageTables, readSnapshotTime, readSynapseIdentity, STAGE_FORMAT, STAGE_SCHEMA, writeStage, type StageRecord } from './stage/record.js';
import { beginMasLoad, endMasLoad, rebuildPaused } from './writer.js';

export type { Entity, EntityCount, PhaseReport, ProgressState } from './phases.js';

export interface MigrationReport {
  dryRun: boolean;
  startedAt: string;
  durationMs: number;
  phases: PhaseReport[];
  entities: Record<Entity, EntityCount>;
  /** Device IPs that were not a single address and were migrated as NULL. */
  invalidIps: number;
  sessions: {
    compatSessions: number;
    /** Sessions that kept a working access token: these clients stay logged in. */
    withTokens: number;
    usersKeepingSessions: number;
    /** Active (not deactivated, not locked, not guest) users with no working session: they log in again on their next visit. */
    usersWithoutSessions: number;
    adminSessions: number;
  };
  /** Tokens not carried over, by reason: the clients behind them have to log in again. */
  loggedOut: Record<string, number>;
  rebuilt: Array<{ kind: string; name: string; ms: number }>;
  /** Set when this run staged the migration (`--stage`) instead of migrating. */
  staged?: { stagedAt: string; users: number };
}

export interface MigrateOptions {
  dryRun: boolean;
  /** Synapse IdP id to MAS provider ULID (from the check). */
  providerMapping: ReadonlyMap<string, string>;
  /** Synapse IdP ids whose links are skipped (--ignore-missing-auth-providers). */
  skippedProviders: ReadonlySet<string>;
  /** Rows expected per phase, for progress (from the check's plan). */
  totals?: Partial<Record<string, number>>;
  progress?: ProgressState;
  /** The run's start time, used where Synapse has no timestamp (ms). */
  now?: number;
  idSecret?: Buffer;
  /** Stage instead of migrating: Synapse keeps running, and the stage is recorded (see above). */
  stage?: boolean;
}

export async function runMigration(ctx: Syn2masContext, masSchema: MasSchema, options: MigrateOptions): Promise<MigrationReport> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const staging = options.stage === true;
  // A stage keeps its key for every later run; a plain migration needs none after it.
  const idSecret = options.idSecret ?? randomBytes(16);
  const serverName = ctx.synapse.serverName;
  const progress: ProgressState = options.progress ?? { stage: 'setup', phase: 'setup', done: 0, total: undefined };
  const entities = emptyEntities();
  const report: MigrationReport = {
    dryRun: options.dryRun,
    startedAt: new Date(now).toISOString(),
    durationMs: 0,
    phases: [],
    entities,
    invalidIps: 0,
    sessions: { compatSessions: 0, withTokens: 0, usersKeepingSessions: 0, usersWithoutSessions: 0, adminSessions: 0 },
    loggedOut: {},
    rebuilt: [],
  };
  const { phases, encoders, streamed } = buildPhases({
    serverName,
    masSchema,
    providerMapping: options.providerMapping,
    skippedProviders: options.skippedProviders,
    now,
    idSecret,
  });

  const synapse = await connect(ctx.synapseDb);
  let mas: pg.Client | undefined;
  let masOpen = false;
  try {
    const masClient = await connect(ctx.masDb);
    mas = masClient;
    progress.stage = 'setup';
    if (staging) await openServingSynapseSnapshot(synapse);
    else await openSynapseSnapshot(synapse, { dryRun: options.dryRun });
    const setupStarted = performance.now();
    const paused = await beginMasLoad(masClient, presentTargetTables(masSchema));
    masOpen = true;
    report.phases.push({ name: 'setup', status: 'done', ms: performance.now() - setupStarted });

    await loadPhases({
      synapse,
      mas: masClient,
      phases,
      encoders,
      queries: phaseQueries(serverName, (s) => synapse.escapeLiteral(s)),
      entities,
      phaseReports: report.phases,
      progress,
      ...(options.totals !== undefined ? { totals: options.totals } : {}),
    });
    let stagedAt = '';
    let fingerprint: FingerprintKind = 'text';
    if (staging) {
      // In the same snapshot as the rows: the fingerprints describe exactly what was staged.
      progress.stage = 'finish';
      progress.phase = 'fingerprinting the Synapse users';
      const fpStarted = performance.now();
      try {
        await createStageTables(masClient);
        const version = await synapse.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
        fingerprint = fingerprintKindFor(Number(version.rows[0]?.v ?? 0));
        await relayFingerprints(synapse, fingerprint, masClient, `${STAGE_SCHEMA}.users`);
        stagedAt = await readSnapshotTime(synapse);
      } catch (cause) {
        throw new DatabaseError('recording the fingerprints of the staged users', cause);
      }
      report.phases.push({ name: 'fingerprints', status: 'done', ms: performance.now() - fpStarted });
    }
    const identity = staging ? await readSynapseIdentity(synapse, serverName) : undefined;
    // Every read is done: release Synapse before the (slow) rebuild.
    await synapse.query('COMMIT');

    progress.stage = 'rebuild';
    const rebuildStarted = performance.now();
    await rebuildPaused(
      masClient,
      paused,
      (o, ms) => report.rebuilt.push({ kind: o.kind, name: o.name, ms }),
      (o, index) => Object.assign(progress, { phase: `${o.kind} ${o.name}`, done: index, total: paused.length }),
    );
    report.phases.push({ name: 'rebuild constraints and indexes', status: 'done', ms: performance.now() - rebuildStarted });

    // Everything after the rebuild is one statement each: the progress line names it.
    progress.stage = 'finish';
    const after = (name: string, progressText: string, fn: (client: pg.Client) => Promise<unknown>): Promise<unknown> =>
      timedPhase(report.phases, progress, name, progressText, () => fn(masClient));
    // Fresh statistics for every table written: the summary below, and MAS's first queries once it
    // starts, are planned on real row counts instead of guesses about tables never analyzed.
    await after('analyze', 'analyzing the MAS tables', (c) => analyzeTargets(c, presentTargetTables(masSchema)));
    await after('session summary', 'counting the sessions that stay logged in', async (c) => {
      report.sessions = await sessionStats(c, streamed);
    });
    if (staging && identity !== undefined) {
      await after('record the stage', 'recording the stage', async (c) => {
        await indexStageTables(c);
        const record: StageRecord = {
          format: STAGE_FORMAT,
          identity,
          fingerprint,
          synapseTarget: describeTarget(ctx.synapseDb),
          idSecret: idSecret.toString('hex'),
          now,
          providerMapping: Object.fromEntries(options.providerMapping),
          skippedProviders: [...options.skippedProviders].sort(),
          masMigration: masSchema.latestMigration,
          createdAt: stagedAt,
          stagedAt,
          refreshes: 0,
          tableCounts: await countTables(c),
        };
        await writeStage(c, record);
        const { rows } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${STAGE_SCHEMA}.users`);
        report.staged = { stagedAt, users: rows[0]?.n ?? 0 };
      });
    }
    await after(options.dryRun ? 'roll back (dry run)' : 'commit', options.dryRun ? 'rolling back (dry run)' : 'committing', (c) => endMasLoad(c, { dryRun: options.dryRun }));
    masOpen = false;
  } finally {
    if (masOpen) await mas?.query('ROLLBACK').catch(() => undefined);
    await mas?.end().catch(() => undefined);
    await synapse.end().catch(() => undefined);
  }

  report.invalidIps = streamed.invalidIps;
  finishCounts(report);
  progress.stage = 'done';
  report.durationMs = performance.now() - started;
  return report;
}

/** Counts derived from the streams: passwords of users without one, and who is logged out. */
export function finishCounts(report: MigrationReport): void {
  const { entities } = report;
  // The password phase reads only users with a hash; the other migrated users have none.
  const withoutPassword = entities.users.migrated - entities.passwords.migrated;
  if (withoutPassword > 0) entities.passwords.skipped.no_password = withoutPassword;
  for (const [reason, n] of [...Object.entries(entities.accessTokens.skipped), ...Object.entries(entities.refreshTokens.skipped)]) {
    // Nobody is logged out by these: a superseded pair was already replaced by its client, an
    // appservice keeps its own tokens, and orphan or half pairs have no user or no usable token.
    if (['superseded', 'foreign', 'orphan', 'no_access_token', 'unpaired_access_token'].includes(reason) || reason.startsWith('appservice')) continue;
    report.loggedOut[reason] = (report.loggedOut[reason] ?? 0) + n;
  }
}

async function analyzeTargets(mas: pg.Client, tables: readonly MasTargetTable[]): Promise<void> {
  try {
    await mas.query(`ANALYZE ${tables.join(', ')}`);
  } catch (cause) {
    throw new DatabaseError('analyzing the migrated MAS tables', cause);
  }
}

/**
 * Who keeps a working session. The streams counted the sessions with a working token, and noted the
 * user of every device session written without one; so a user keeps a session exactly when they
 * have more sessions than tokenless ones. One pass over the sessions, grouped per user, joined only
 * to small sets (the tokenless sessions' users, the users who are not active): no session is joined
 * to the tokens, whose hash of every token grew faster than the server (ratio 5.3-5.9 from 200k to
 * 800k users, as the hash outgrew the CPU caches).
 */
async function sessionStats(mas: pg.Client, streamed: StreamedCounts): Promise<MigrationReport['sessions']> {
  try {
    const { rows } = await mas.query<{ keeping: number; keeping_active: number }>(`
      WITH per_user AS (SELECT user_id, count(*) AS sessions FROM compat_sessions GROUP BY user_id),
           tokenless AS (SELECT user_id, count(*) AS sessions FROM unnest($1::uuid[]) AS t(user_id) GROUP BY user_id),
           inactive AS (SELECT user_id FROM users WHERE deactivated_at IS NOT NULL OR locked_at IS NOT NULL OR is_guest)
      SELECT count(*)::int AS keeping, count(*) FILTER (WHERE i.user_id IS NULL)::int AS keeping_active
        FROM per_user p LEFT JOIN tokenless t ON t.user_id = p.user_id LEFT JOIN inactive i ON i.user_id = p.user_id
       WHERE p.sessions > coalesce(t.sessions, 0)`,
      [streamed.tokenlessSessionUsers],
    );
    const r = rows[0];
    return {
      compatSessions: streamed.sessions,
      withTokens: streamed.withTokens,
      usersKeepingSessions: r?.keeping ?? 0,
      usersWithoutSessions: streamed.activeUsers - (r?.keeping_active ?? 0),
      adminSessions: streamed.adminSessions,
    };
  } catch (cause) {
    throw new DatabaseError('counting the migrated sessions', cause);
  }
}
