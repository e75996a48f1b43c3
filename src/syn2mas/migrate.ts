// Joins the Synapse reader and the MAS writer: one COPY stream per MAS table, rows transformed on
// the way, counted as migrated or skipped by reason. Runs no safety checks itself; the command runs
// the check first (check.ts) and only calls this when there is no error.
import type pg from 'pg';
import { copyBetween, type CopyValue } from '../db/copy.js';
import { connect } from '../db/connection.js';
import { MAS_TARGET_TABLES, type MasSchema } from '../db/mas-schema.js';
import { DatabaseError, MasToolError } from '../errors.js';
import { ulidToUUID } from 'ulid';
import { createIdFactory } from './ids.js';
import type { Syn2masContext } from './context.js';
import { decode, openSynapseSnapshot, phaseQueries, reasonOf, type PhaseQuery } from './reader.js';
import {
  transformAccessToken,
  transformDevice,
  transformExternalId,
  transformRefreshPair,
  transformThreepid,
  transformUser,
  type MasNewCompatSession,
} from './transform.js';
import { beginMasLoad, endMasLoad, masEncoders, rebuildPaused } from './writer.js';

export type Entity =
  | 'users'
  | 'passwords'
  | 'emails'
  | 'unsupportedThreepids'
  | 'upstreamLinks'
  | 'devices'
  | 'deviceless'
  | 'accessTokens'
  | 'refreshTokens';

export interface EntityCount {
  migrated: number;
  skipped: Record<string, number>;
}

export interface PhaseReport {
  name: string;
  status: 'done' | 'failed' | 'not-run';
  ms: number;
}

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
}

/** What the CLI samples for its progress line; core code only writes to it. */
export interface ProgressState {
  stage: 'setup' | 'load' | 'rebuild' | 'finish' | 'done';
  phase: string;
  done: number;
  total: number | undefined;
  /** What is being done and counted, when it is not migrating rows ("manage", "requests"). */
  verb?: string;
  unit?: string;
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
}

interface Phase {
  name: string;
  query: PhaseQuery;
  encoder: keyof ReturnType<typeof masEncoders>;
  /** The entity this phase counts, and the rows it writes. */
  entity: Entity;
  /**
   * SQL condition on the query's columns selecting this phase's rows; filtering in PostgreSQL keeps
   * rows this phase does not write out of the stream.
   */
  where?: string;
  /** MAS line for a migrated row, or a skip reason. */
  map: (row: CopyValue[]) => string | { skip: string };
}

const emptyCount = (): EntityCount => ({ migrated: 0, skipped: {} });

export async function runMigration(ctx: Syn2masContext, masSchema: MasSchema, options: MigrateOptions): Promise<MigrationReport> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const ids = createIdFactory(options.idSecret);
  const encoders = masEncoders(masSchema);
  const serverName = ctx.synapse.serverName;
  const progress: ProgressState = options.progress ?? { stage: 'setup', phase: 'setup', done: 0, total: undefined };
  const entities = Object.fromEntries(
    (['users', 'passwords', 'emails', 'unsupportedThreepids', 'upstreamLinks', 'devices', 'deviceless', 'accessTokens', 'refreshTokens'] as const).map(
      (e) => [e, emptyCount()],
    ),
  ) as Record<Entity, EntityCount>;
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
  const providerUuids = new Map([...options.providerMapping].map(([idp, ulid]) => [idp, ulidToUUID(ulid)]));
  // Figures of the summary that the streams can count as they go, instead of querying afterwards.
  const streamed: StreamedCounts = { activeUsers: 0, sessions: 0, adminSessions: 0 };
  const session = (s: MasNewCompatSession): string => {
    streamed.sessions++;
    if (s.isSynapseAdmin) streamed.adminSessions++;
    return encoders.sessions.line(s);
  };

  const phases: Phase[] = [
    {
      name: 'users',
      query: 'users',
      encoder: 'users',
      entity: 'users',
      map: (r) => {
        const { user } = transformUser(decode.user(r), serverName, ids);
        if (user.deactivatedAt === null && user.lockedAt === null && !user.isGuest) streamed.activeUsers++;
        return encoders.users.line(user);
      },
    },
    {
      name: 'passwords',
      query: 'users',
      encoder: 'passwords',
      entity: 'passwords',
      where: `reason = 'migrate' AND password_hash <> ''`,
      map: (r) => {
        const { password } = transformUser(decode.user(r), serverName, ids);
        return password === undefined ? { skip: 'no_password' } : encoders.passwords.line(password);
      },
    },
    {
      name: 'emails',
      query: 'threepids',
      encoder: 'emails',
      entity: 'emails',
      where: `medium = 'email'`,
      map: (r) => {
        const t = transformThreepid(decode.threepid(r), ids);
        return t.kind === 'email' ? encoders.emails.line(t.email) : { skip: 'not_email' };
      },
    },
    {
      name: 'other third-party IDs',
      query: 'threepids',
      encoder: 'unsupportedThreepids',
      entity: 'unsupportedThreepids',
      where: `medium <> 'email'`,
      map: (r) => {
        const t = transformThreepid(decode.threepid(r), ids);
        return t.kind === 'unsupported' ? encoders.unsupportedThreepids.line(t.threepid) : { skip: 'email' };
      },
    },
    {
      name: 'upstream links',
      query: 'externalIds',
      encoder: 'upstreamLinks',
      entity: 'upstreamLinks',
      map: (r) => {
        const row = decode.externalId(r);
        const provider = providerUuids.get(row.authProvider);
        if (provider !== undefined) return encoders.upstreamLinks.line(transformExternalId(row, provider, ids));
        if (options.skippedProviders.has(row.authProvider)) return { skip: `unmapped_provider` };
        // The check reports this as an error; reaching it means the check was bypassed.
        throw new MasToolError('MAS_TOOL_UNMAPPED_PROVIDER', `No MAS provider is mapped for Synapse IdP '${row.authProvider}'.`, {
          hint: 'Run `mas-tool syn2mas check`: it explains how to map it.',
        });
      },
    },
    {
      name: 'devices',
      query: 'devices',
      encoder: 'sessions',
      entity: 'devices',
      map: (r) => {
        const { session: s, invalidIp } = transformDevice(decode.device(r), ids, now);
        if (invalidIp) report.invalidIps++;
        return session(s);
      },
    },
    {
      name: 'deviceless sessions',
      // Puppet tokens are deviceless too, but are access tokens that are not migrated, not sessions:
      // this query leaves them out.
      query: 'devicelessTokens',
      encoder: 'sessions',
      entity: 'deviceless',
      map: (r) => {
        const { session: s } = transformAccessToken(decode.accessToken(r), ids, now);
        return s === undefined ? { skip: 'has_device' } : session(s);
      },
    },
    {
      name: 'access tokens',
      query: 'accessTokens',
      encoder: 'accessTokens',
      entity: 'accessTokens',
      map: (r) => encoders.accessTokens.line(transformAccessToken(decode.accessToken(r), ids, now).token),
    },
    {
      name: 'refreshable access tokens',
      query: 'refreshPairs',
      encoder: 'accessTokens',
      entity: 'refreshTokens',
      map: (r) => encoders.accessTokens.line(transformRefreshPair(decode.refreshPair(r), ids, now).accessToken),
    },
    {
      name: 'refresh tokens',
      query: 'refreshPairs',
      encoder: 'refreshTokens',
      entity: 'refreshTokens',
      // The previous phase counted these rows.
      where: `reason = 'migrate'`,
      map: (r) => encoders.refreshTokens.line(transformRefreshPair(decode.refreshPair(r), ids, now).refreshToken),
    },
  ];
  // Phases that share an entity with an earlier phase write rows but do not count them again.
  const counting = new Set<Phase>();
  const seen = new Set<Entity>();
  for (const p of phases) {
    if (!seen.has(p.entity)) counting.add(p);
    seen.add(p.entity);
  }

  const synapse = await connect(ctx.synapseDb);
  let mas: pg.Client | undefined;
  let masOpen = false;
  try {
    const masClient = await connect(ctx.masDb);
    mas = masClient;
    progress.stage = 'setup';
    await openSynapseSnapshot(synapse, { dryRun: options.dryRun });
    const setupStarted = performance.now();
    const paused = await beginMasLoad(mas);
    masOpen = true;
    report.phases.push({ name: 'setup', status: 'done', ms: performance.now() - setupStarted });

    const queries = phaseQueries(serverName, (s) => synapse.escapeLiteral(s));
    progress.stage = 'load';
    for (const phase of phases) {
      const phaseStarted = performance.now();
      const count = entities[phase.entity];
      const counts = counting.has(phase);
      Object.assign(progress, { phase: phase.name, done: 0, total: options.totals?.[phase.entity] });
      const target = encoders[phase.encoder];
      try {
        const query = phase.where === undefined ? queries[phase.query] : `SELECT * FROM (${queries[phase.query]}) q WHERE ${phase.where}`;
        await copyBetween(
          synapse,
          query,
          (row) => {
            progress.done++;
            const reason = reasonOf(row);
            if (reason !== 'migrate') {
              if (counts) count.skipped[reason] = (count.skipped[reason] ?? 0) + 1;
              return undefined;
            }
            // The decoders read fields by position; the trailing reason column is ignored.
            const out = phase.map(row);
            if (typeof out === 'string') {
              if (counts) count.migrated++;
              return out;
            }
            if (counts) count.skipped[out.skip] = (count.skipped[out.skip] ?? 0) + 1;
            return undefined;
          },
          { client: mas, table: target.table, columns: target.columns },
        );
      } catch (cause) {
        report.phases.push({ name: phase.name, status: 'failed', ms: performance.now() - phaseStarted });
        if (cause instanceof MasToolError) throw cause;
        throw new DatabaseError(`migrating ${phase.name} into ${target.table}`, cause);
      }
      report.phases.push({ name: phase.name, status: 'done', ms: performance.now() - phaseStarted });
    }
    // Every read is done: release Synapse before the (slow) rebuild.
    await synapse.query('COMMIT');

    progress.stage = 'rebuild';
    const rebuildStarted = performance.now();
    await rebuildPaused(
      mas,
      paused,
      (o, ms) => report.rebuilt.push({ kind: o.kind, name: o.name, ms }),
      (o, index) => Object.assign(progress, { phase: `${o.kind} ${o.name}`, done: index, total: paused.length }),
    );
    report.phases.push({ name: 'rebuild constraints and indexes', status: 'done', ms: performance.now() - rebuildStarted });

    // Everything after the rebuild is one statement each: the progress line names it.
    progress.stage = 'finish';
    const after = async (name: string, progressText: string, fn: (client: pg.Client) => Promise<unknown>): Promise<void> => {
      progress.phase = progressText;
      const started = performance.now();
      await fn(masClient);
      report.phases.push({ name, status: 'done', ms: performance.now() - started });
    };
    // Fresh statistics for every table written: the summary below, and MAS's first queries once it
    // starts, are planned on real row counts instead of guesses about tables never analyzed.
    await after('analyze', 'analyzing the MAS tables', (c) => analyzeTargets(c));
    await after('session summary', 'counting the sessions that stay logged in', async (c) => {
      report.sessions = await sessionStats(c, streamed);
    });
    await after(options.dryRun ? 'roll back (dry run)' : 'commit', options.dryRun ? 'rolling back (dry run)' : 'committing', (c) => endMasLoad(c, { dryRun: options.dryRun }));
    masOpen = false;
  } finally {
    if (masOpen) await mas?.query('ROLLBACK').catch(() => undefined);
    await mas?.end().catch(() => undefined);
    await synapse.end().catch(() => undefined);
  }

  // The password phase reads only users with a hash; the other migrated users have none.
  const withoutPassword = entities.users.migrated - entities.passwords.migrated;
  if (withoutPassword > 0) entities.passwords.skipped.no_password = withoutPassword;
  for (const [reason, n] of [...Object.entries(entities.accessTokens.skipped), ...Object.entries(entities.refreshTokens.skipped)]) {
    // Nobody is logged out by these: a superseded pair was already replaced by its client, an
    // appservice keeps its own tokens, and orphan or half pairs have no user or no usable token.
    if (['superseded', 'foreign', 'orphan', 'no_access_token', 'unpaired_access_token'].includes(reason) || reason.startsWith('appservice')) continue;
    report.loggedOut[reason] = (report.loggedOut[reason] ?? 0) + n;
  }
  progress.stage = 'done';
  report.durationMs = performance.now() - started;
  return report;
}

interface StreamedCounts {
  /** Migrated users that are not deactivated, locked or guests. */
  activeUsers: number;
  /** compat_sessions rows written (device and deviceless sessions). */
  sessions: number;
  adminSessions: number;
}

async function analyzeTargets(mas: pg.Client): Promise<void> {
  try {
    await mas.query(`ANALYZE ${MAS_TARGET_TABLES.join(', ')}`);
  } catch (cause) {
    throw new DatabaseError('analyzing the migrated MAS tables', cause);
  }
}

/**
 * The figures that need the written rows: which sessions kept a working token, and whose. One pass
 * over the tokens (distinct sessions), joined to sessions and users by their keys; with the bulk
 * planner settings these are hash joins, so the cost is linear in the rows whatever the statistics.
 */
async function sessionStats(mas: pg.Client, streamed: StreamedCounts): Promise<MigrationReport['sessions']> {
  try {
    const { rows } = await mas.query<{ with_tokens: number; keeping: number; keeping_active: number }>(`
      SELECT count(*)::int AS with_tokens,
             count(DISTINCT s.user_id)::int AS keeping,
             count(DISTINCT s.user_id) FILTER (WHERE u.deactivated_at IS NULL AND u.locked_at IS NULL AND NOT u.is_guest)::int AS keeping_active
        FROM (SELECT DISTINCT compat_session_id FROM compat_access_tokens) t
        JOIN compat_sessions s ON s.compat_session_id = t.compat_session_id
        JOIN users u ON u.user_id = s.user_id`);
    const r = rows[0];
    return {
      compatSessions: streamed.sessions,
      withTokens: r?.with_tokens ?? 0,
      usersKeepingSessions: r?.keeping ?? 0,
      usersWithoutSessions: streamed.activeUsers - (r?.keeping_active ?? 0),
      adminSessions: streamed.adminSessions,
    };
  } catch (cause) {
    throw new DatabaseError('counting the migrated sessions', cause);
  }
}
