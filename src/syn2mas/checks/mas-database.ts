// Checks on the MAS database before a migration: it has a schema mas-tool knows, it is empty, and
// no interrupted run left renamed tables behind. Read-only: unlike mas-cli, we never run MAS's
// schema migrations ourselves.
import {
  MAS_TARGET_TABLES,
  NEWEST_SUPPORTED_MIGRATION,
  OLDEST_SUPPORTED_MIGRATION,
  OPTIONAL_TARGET_TABLES,
  presentTargetTables,
  REQUIRED_COLUMNS,
  type MasSchema,
} from '../../db/mas-schema.js';
import type { Queryable } from '../../db/queryable.js';
import { finding, type Finding } from '../../report/finding.js';

export const MAS_DATABASE_CHECK_CODES = [
  'E_MAS_MIGRATION_IN_PROGRESS',
  'E_MAS_SCHEMA_MISSING',
  'E_MAS_SCHEMA_UNSUPPORTED',
  'E_MAS_NOT_EMPTY',
] as const;

// Counting stops here: the operator needs to know a table is in use, not the exact size, and a
// full count(*) of a busy MAS database takes a while.
const COUNT_CAP = 1_000_000;

/** `staged`: the database holds a stage of a staged migration, whose rows are expected (stage/validate.ts judges them). */
export async function checkMasDatabase(db: Queryable, schema: MasSchema, options: { staged?: boolean } = {}): Promise<Finding[]> {
  if (schema.leftovers.length > 0) {
    return [
      finding('E_MAS_MIGRATION_IN_PROGRESS', 'error', `An earlier syn2mas run was interrupted: the MAS database still has ${schema.leftovers.join(', ')}.`, {
        fix:
          'Drop and recreate the MAS database, then run `mas-cli database migrate` (always safe: the Synapse database was never changed). ' +
          'Alternatively finish or reset the interrupted run with the tool that started it (mas-cli syn2mas).',
        details: { tables: schema.leftovers },
      }),
    ];
  }
  if (schema.latestMigration === null || schema.columns.users === undefined) {
    return [
      finding('E_MAS_SCHEMA_MISSING', 'error', 'The MAS database has no MAS schema (no _sqlx_migrations or users table).', {
        fix: 'Create the schema with `mas-cli database migrate` using the same MAS config, then run this check again.',
        details: { latestMigration: schema.latestMigration },
      }),
    ];
  }
  const unsupported = unsupportedReasons(schema);
  if (unsupported.length > 0) {
    return [
      finding('E_MAS_SCHEMA_UNSUPPORTED', 'error', `The MAS database schema is not one mas-tool supports: ${unsupported.join('; ')}.`, {
        fix:
          schema.latestMigration > NEWEST_SUPPORTED_MIGRATION
            ? 'Upgrade mas-tool to a version that knows this MAS release, or migrate with the MAS release mas-tool supports (v0.16.0 to the 1.22 line) and upgrade MAS afterwards.'
            : 'Upgrade MAS to v0.16.0 or later and run `mas-cli database migrate` (with no failed migrations) before migrating.',
        details: {
          latestMigration: schema.latestMigration,
          migrationCount: schema.migrationCount,
          failedMigrations: schema.failedMigrations,
          supported: { oldest: OLDEST_SUPPORTED_MIGRATION, newest: NEWEST_SUPPORTED_MIGRATION },
        },
      }),
    ];
  }
  if (options.staged === true) return [];
  const counts = await countTargetRows(db, presentTargetTables(schema));
  const nonEmpty = Object.entries(counts).filter(([, n]) => n > 0);
  if (nonEmpty.length === 0) return [];
  const list = nonEmpty.map(([t, n]) => `${t} (${n >= COUNT_CAP ? `${COUNT_CAP}+ rows` : n === 1 ? "1 row" : `${n} rows`})`).join(', ');
  return [
    finding('E_MAS_NOT_EMPTY', 'error', `The MAS database is not empty: ${list}.`, {
      fix:
        'A migration needs an empty MAS database. If you already migrated, do not migrate again: run `mas-tool syn2mas verify`. ' +
        'Otherwise check you are pointing at the right database (see the target above), then drop and recreate it and run `mas-cli database migrate`.',
      details: { tables: Object.fromEntries(nonEmpty) },
    }),
  ];
}

function unsupportedReasons(schema: MasSchema): string[] {
  const reasons: string[] = [];
  const latest = schema.latestMigration ?? '';
  if (schema.failedMigrations.length > 0) reasons.push(`migrations ${schema.failedMigrations.join(', ')} failed`);
  if (latest < OLDEST_SUPPORTED_MIGRATION) reasons.push(`latest migration ${latest} is older than MAS v0.16.0 (${OLDEST_SUPPORTED_MIGRATION})`);
  if (latest > NEWEST_SUPPORTED_MIGRATION) reasons.push(`latest migration ${latest} is newer than the 1.22 line (${NEWEST_SUPPORTED_MIGRATION})`);
  for (const table of MAS_TARGET_TABLES) {
    const have = schema.columns[table];
    // An optional table missing is an older MAS: its rows are not carried (registration-tokens.ts warns).
    if (have === undefined && OPTIONAL_TARGET_TABLES.has(table)) continue;
    if (have === undefined) {
      reasons.push(`table ${table} is missing`);
      continue;
    }
    const missing = REQUIRED_COLUMNS[table].filter((c) => !have.includes(c));
    if (missing.length > 0) reasons.push(`${table} lacks ${missing.join(', ')}`);
  }
  return reasons;
}

async function countTargetRows(db: Queryable, tables: readonly string[]): Promise<Record<string, number>> {
  const parts = tables.map((t) => `SELECT '${t}' AS t, (SELECT count(*) FROM (SELECT 1 FROM ${t} LIMIT ${COUNT_CAP}) s)::int AS n`);
  const { rows } = await db.query<{ t: string; n: number }>(parts.join(' UNION ALL '));
  return Object.fromEntries(rows.map((r) => [r.t, r.n]));
}
