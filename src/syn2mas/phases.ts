// The migration's load phases: which Synapse query feeds which MAS table, how a row is turned into a
// COPY line, and the loop that streams each phase from Synapse into MAS. Shared by the full load and
// by a staged migration's delta (which runs the same phases over the changed users only, into
// scratch tables), so that both write exactly the same rows.
import type pg from 'pg';
import { ulidToUUID } from 'ulid';
import { copyBetween, type CopyValue } from '../db/copy.js';
import type { MasSchema } from '../db/mas-schema.js';
import { DatabaseError, MasToolError } from '../errors.js';
import { createIdFactory } from './ids.js';
import { decode, reasonOf, type PhaseQuery } from './reader.js';
import {
  transformAccessToken,
  transformDevice,
  transformExternalId,
  transformRefreshPair,
  transformRegistrationToken,
  transformThreepid,
  transformUser,
  transformUserOnly,
  type MasNewCompatSession,
} from './transform.js';
import { masEncoders, type MasEncoders } from './writer.js';

export type Entity =
  | 'users'
  | 'passwords'
  | 'emails'
  | 'unsupportedThreepids'
  | 'upstreamLinks'
  | 'devices'
  | 'deviceless'
  | 'accessTokens'
  | 'refreshTokens'
  | 'registrationTokens';

export const ENTITIES: readonly Entity[] = [
  'users',
  'passwords',
  'emails',
  'unsupportedThreepids',
  'upstreamLinks',
  'devices',
  'deviceless',
  'accessTokens',
  'refreshTokens',
  'registrationTokens',
];

/** Why registration tokens are not written into a MAS schema without user_registration_tokens. */
export const NO_MAS_TABLE = 'no_mas_table';

export interface EntityCount {
  migrated: number;
  skipped: Record<string, number>;
}

export interface PhaseReport {
  name: string;
  status: 'done' | 'failed' | 'not-run';
  ms: number;
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

export interface Phase {
  name: string;
  query: PhaseQuery;
  encoder: keyof MasEncoders;
  /** The entity this phase counts, and the rows it writes. */
  entity: Entity;
  /**
   * SQL condition on the query's columns selecting this phase's rows; filtering in PostgreSQL keeps
   * rows this phase does not write out of the stream.
   */
  where?: string;
  /** MAS line for a migrated row, or a skip reason. */
  map: (row: CopyValue[]) => string | { skip: string };
  /**
   * Set when the MAS schema has no table for these rows: nothing is written, and every row the
   * phase would write is counted as skipped with this reason.
   */
  countOnly?: string;
  /** Rows that belong to no user (registration tokens): a staged delta reloads them in full. */
  serverWide?: boolean;
}

/** Figures of the summary that the streams count as they go, instead of querying afterwards. */
export interface StreamedCounts {
  /** Migrated users that are not deactivated, locked or guests. */
  activeUsers: number;
  /** compat_sessions rows written (device and deviceless sessions). */
  sessions: number;
  /** Sessions written with a working token: deviceless ones, and devices with a token carried over. */
  withTokens: number;
  /**
   * The MAS user of each device session written without any token (usually a few percent of the
   * devices): with these, the summary counts who keeps a session without joining sessions to tokens.
   */
  tokenlessSessionUsers: string[];
  adminSessions: number;
  /** Device IPs that were not a single address and were written as NULL. */
  invalidIps: number;
}

export interface PhaseSettings {
  serverName: string;
  masSchema: MasSchema;
  /** Synapse IdP id to MAS provider ULID. */
  providerMapping: ReadonlyMap<string, string>;
  /** Synapse IdP ids whose links are skipped (--ignore-missing-auth-providers). */
  skippedProviders: ReadonlySet<string>;
  /** The time used where Synapse has none (ms). */
  now: number;
  /** The key of the ids (ids.ts); a staged migration keeps one for all its runs. */
  idSecret?: Buffer;
}

export function buildPhases(settings: PhaseSettings): { phases: Phase[]; encoders: MasEncoders; streamed: StreamedCounts } {
  const { serverName, now } = settings;
  const ids = createIdFactory(settings.idSecret);
  const encoders = masEncoders(settings.masSchema);
  const providerUuids = new Map([...settings.providerMapping].map(([idp, ulid]) => [idp, ulidToUUID(ulid)]));
  const streamed: StreamedCounts = { activeUsers: 0, sessions: 0, withTokens: 0, tokenlessSessionUsers: [], adminSessions: 0, invalidIps: 0 };
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
        const user = transformUserOnly(decode.user(r), serverName, ids);
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
        if (settings.skippedProviders.has(row.authProvider)) return { skip: `unmapped_provider` };
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
        if (invalidIp) streamed.invalidIps++;
        if (decode.deviceHasToken(r)) streamed.withTokens++;
        else streamed.tokenlessSessionUsers.push(s.userId);
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
        if (s === undefined) return { skip: 'has_device' };
        // Its token is written by the access token phase, with the same classification.
        streamed.withTokens++;
        return session(s);
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
    {
      name: 'registration tokens',
      query: 'registrationTokens',
      encoder: 'registrationTokens',
      entity: 'registrationTokens',
      serverWide: true,
      map: (r) => encoders.registrationTokens.line(transformRegistrationToken(decode.registrationToken(r), ids, now)),
      // MAS has the table since 0.17 (OPTIONAL_TARGET_TABLES); the check warns before this.
      ...(settings.masSchema.columns.user_registration_tokens === undefined ? { countOnly: NO_MAS_TABLE } : {}),
    },
  ];
  return { phases, encoders, streamed };
}

/** Runs one named step, shows `progressText` on the progress line, and reports its duration. */
export async function timedPhase<T>(reports: PhaseReport[], progress: ProgressState, name: string, progressText: string, fn: () => Promise<T>): Promise<T> {
  progress.phase = progressText;
  const started = performance.now();
  const result = await fn();
  reports.push({ name, status: 'done', ms: performance.now() - started });
  return result;
}

export const emptyEntities = (): Record<Entity, EntityCount> =>
  Object.fromEntries(ENTITIES.map((e) => [e, { migrated: 0, skipped: {} }])) as Record<Entity, EntityCount>;

export interface LoadOptions {
  synapse: pg.Client;
  mas: pg.Client;
  phases: readonly Phase[];
  encoders: MasEncoders;
  queries: Record<PhaseQuery, string>;
  entities: Record<Entity, EntityCount>;
  phaseReports: PhaseReport[];
  progress: ProgressState;
  totals?: Partial<Record<string, number>>;
  /** The table a MAS table's rows go to (a staged delta loads scratch tables); default the table itself. */
  tableFor?: (table: string) => string;
}

/** Streams every phase from Synapse into MAS, counting rows as migrated or skipped by reason. */
export async function loadPhases(o: LoadOptions): Promise<void> {
  // Phases that share an entity with an earlier phase write rows but do not count them again.
  const counting = new Set<Phase>();
  const seen = new Set<Entity>();
  for (const p of o.phases) {
    if (!seen.has(p.entity)) counting.add(p);
    seen.add(p.entity);
  }
  const { progress } = o;
  progress.stage = 'load';
  for (const phase of o.phases) {
    const phaseStarted = performance.now();
    const count = o.entities[phase.entity];
    const counts = counting.has(phase);
    Object.assign(progress, { phase: phase.name, done: 0, total: o.totals?.[phase.entity] });
    const target = o.encoders[phase.encoder];
    const table = o.tableFor?.(target.table) ?? target.table;
    try {
      const query = phase.where === undefined ? o.queries[phase.query] : `SELECT * FROM (${o.queries[phase.query]}) q WHERE ${phase.where}`;
      if (phase.countOnly !== undefined) {
        if (counts) await countSkipped(o.synapse, query, phase.countOnly, count);
        o.phaseReports.push({ name: phase.name, status: 'done', ms: performance.now() - phaseStarted });
        continue;
      }
      await copyBetween(
        o.synapse,
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
        { client: o.mas, table, columns: target.columns },
      );
    } catch (cause) {
      o.phaseReports.push({ name: phase.name, status: 'failed', ms: performance.now() - phaseStarted });
      if (cause instanceof MasToolError) throw cause;
      throw new DatabaseError(`migrating ${phase.name} into ${table}`, cause);
    }
    o.phaseReports.push({ name: phase.name, status: 'done', ms: performance.now() - phaseStarted });
  }
}

/** For a phase with no MAS table: its rows counted by reason, those it would write under `reason`. */
async function countSkipped(synapse: pg.Client, query: string, reason: string, count: EntityCount): Promise<void> {
  const { rows } = await synapse.query<{ reason: string; n: number }>(`SELECT reason, count(*)::int AS n FROM (${query}) q GROUP BY reason`);
  for (const r of rows) {
    const as = r.reason === 'migrate' ? reason : r.reason;
    count.skipped[as] = (count.skipped[as] ?? 0) + r.n;
  }
}
