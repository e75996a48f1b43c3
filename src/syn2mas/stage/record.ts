// What a staged migration keeps in the MAS database between its runs, in a schema of its own that
// MAS never reads: one row describing the stage (where it came from, the key of its ids, the time it
// uses where Synapse has none, the provider mapping, how many rows it left in each MAS table) and one
// fingerprint per Synapse user. The cut-over drops the schema in its own transaction, so a migrated
// database holds exactly what a full migration writes.
import type pg from 'pg';
import { MAS_TARGET_TABLES } from '../../db/mas-schema.js';
import type { Queryable } from '../../db/queryable.js';
import type { FingerprintKind } from './fingerprint.js';

export const STAGE_SCHEMA = 'mas_tool_stage';
export const STAGE_FORMAT = 1;

/** Tells one Synapse from another, and a dump of it from itself: its server name and its first user. */
export interface SynapseIdentity {
  serverName: string;
  firstUser: string | null;
  firstUserCreationTs: number | null;
}

export interface StageRecord {
  format: number;
  identity: SynapseIdentity;
  /** The database the stage was read from (for messages; a restored copy is the same Synapse). */
  synapseTarget: string;
  /** How rows are hashed into the fingerprints (fingerprint.ts): every run of a stage hashes alike. */
  fingerprint: FingerprintKind;
  /** Hex key of the ids (ids.ts): every run of one stage computes the same id for the same row. */
  idSecret: string;
  /** The time used where Synapse has none, fixed at the first stage (ms). */
  now: number;
  /** Synapse IdP id to MAS provider ULID, and the IdPs whose links are skipped. */
  providerMapping: Record<string, string>;
  skippedProviders: string[];
  /** MAS's latest schema migration when staged: rows are encoded for that schema. */
  masMigration: string | null;
  /** When the first stage and the latest refresh read Synapse (ISO). */
  createdAt: string;
  stagedAt: string;
  refreshes: number;
  /** Rows in each MAS table after the latest run: anything else means MAS itself wrote rows. */
  tableCounts: Record<string, number>;
}

/** The stage of this MAS database, or undefined when there is none. */
export async function readStage(db: Queryable): Promise<StageRecord | undefined> {
  const { rows } = await db.query<{ t: string | null }>(`SELECT to_regclass('${STAGE_SCHEMA}.stage')::text AS t`);
  if (rows[0]?.t == null) return undefined;
  const { rows: stage } = await db.query<{ record: StageRecord }>(`SELECT record FROM ${STAGE_SCHEMA}.stage WHERE id = 1`);
  return stage[0]?.record;
}

/** Creates the schema, empty; the fingerprints are loaded with COPY, then indexed. */
export async function createStageTables(mas: pg.Client): Promise<void> {
  await mas.query(`CREATE SCHEMA ${STAGE_SCHEMA}`);
  await mas.query(`CREATE TABLE ${STAGE_SCHEMA}.stage (id integer PRIMARY KEY CHECK (id = 1), record jsonb NOT NULL)`);
  await mas.query(`CREATE TABLE ${STAGE_SCHEMA}.users (name text NOT NULL, fingerprint text NOT NULL)`);
}

export async function indexStageTables(mas: pg.Client): Promise<void> {
  await mas.query(`ALTER TABLE ${STAGE_SCHEMA}.users ADD PRIMARY KEY (name)`);
  await mas.query(`ANALYZE ${STAGE_SCHEMA}.users`);
}

export async function writeStage(mas: Queryable, record: StageRecord): Promise<void> {
  await mas.query(
    `INSERT INTO ${STAGE_SCHEMA}.stage (id, record) VALUES (1, $1::jsonb) ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record`,
    [JSON.stringify(record)],
  );
}

export async function dropStage(mas: Queryable): Promise<void> {
  await mas.query(`DROP SCHEMA ${STAGE_SCHEMA} CASCADE`);
}

/**
 * Rows per MAS table the migration writes (exact: compared with what the stage left). A table an
 * older MAS schema does not have (OPTIONAL_TARGET_TABLES) is left out.
 */
export async function countTables(mas: Queryable): Promise<Record<string, number>> {
  const { rows: present } = await mas.query<{ t: string }>(`SELECT t FROM unnest($1::text[]) t WHERE to_regclass(t) IS NOT NULL`, [[...MAS_TARGET_TABLES]]);
  const { rows } = await mas.query<{ t: string; n: number }>(present.map(({ t }) => `SELECT '${t}' AS t, count(*)::int AS n FROM ${t}`).join(' UNION ALL '));
  return Object.fromEntries(rows.map((r) => [r.t, r.n]));
}

/** The time of the caller's snapshot (its transaction's start), as ISO 8601 in UTC. */
export async function readSnapshotTime(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ t: string }>(`SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t`);
  return rows[0]?.t ?? new Date().toISOString();
}

/** The Synapse identity, read in the caller's snapshot. */
export async function readSynapseIdentity(synapse: Queryable, serverName: string): Promise<SynapseIdentity> {
  const { rows } = await synapse.query<{ name: string; creation_ts: string | null }>(
    'SELECT name, creation_ts::text AS creation_ts FROM users ORDER BY creation_ts NULLS LAST, name LIMIT 1',
  );
  const first = rows[0];
  return { serverName, firstUser: first?.name ?? null, firstUserCreationTs: first?.creation_ts == null ? null : Number(first.creation_ts) };
}

export function sameIdentity(a: SynapseIdentity, b: SynapseIdentity): boolean {
  return a.serverName === b.serverName && a.firstUser === b.firstUser && a.firstUserCreationTs === b.firstUserCreationTs;
}

/**
 * The IdPs that the stage and this run map differently (another MAS provider, or mapped on one side
 * and skipped on the other). The mapping is derived from the links Synapse holds, so an IdP may
 * appear or disappear between runs: that is no conflict, the links concerned belong to users whose
 * rows change anyway.
 */
export function mappingConflicts(stage: StageRecord, mapping: ReadonlyMap<string, string>, skipped: ReadonlySet<string>): string[] {
  const stagedSkipped = new Set(stage.skippedProviders);
  const conflicts = new Set<string>();
  for (const [idp, ulid] of mapping) {
    const staged = stage.providerMapping[idp];
    if ((staged !== undefined && staged !== ulid) || stagedSkipped.has(idp)) conflicts.add(idp);
  }
  for (const idp of skipped) if (stage.providerMapping[idp] !== undefined) conflicts.add(idp);
  return [...conflicts].sort();
}
