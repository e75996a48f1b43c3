// Reads what a run needs besides the comparisons: whether MAS holds a migration, the horizon (when it happened), and MAS session use.
import type pg from 'pg';
import { MAS_TARGET_TABLES, OPTIONAL_TARGET_TABLES, type MasSchema } from '../../db/mas-schema.js';
import { ms, num } from './context.js';

export interface Horizon {
  ms: number;
  synapseLastValidated: number | null;
  masSchemaInstalled: number | null;
}

/** Why there is nothing to verify, or undefined when the MAS database holds a migration. */
export async function migrationAbsent(mas: pg.Client, schema: MasSchema): Promise<string | undefined> {
  const absent = MAS_TARGET_TABLES.filter((t) => schema.columns[t] === undefined && !OPTIONAL_TARGET_TABLES.has(t));
  if (schema.latestMigration === null || absent.length > 0) {
    return `This is not a MAS database with the tables the migration writes${absent.length > 0 ? ` (no ${absent.join(', ')})` : ''}: nothing to verify.`;
  }
  if (schema.leftovers.length > 0) {
    return `An interrupted migration left tables behind in the MAS database (${schema.leftovers.join(', ')}): there is no complete migration to verify.`;
  }
  const { rows } = await mas.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM users) AS any');
  if (rows[0]?.any !== true) return 'The MAS database has no users at all: nothing has been migrated into it, so there is nothing to verify.';
  return undefined;
}

export async function readHorizon(synapse: pg.Client, mas: pg.Client): Promise<Horizon> {
  const [s, m] = await Promise.all([
    synapse.query<{ t: string | null }>('SELECT max(last_validated)::text AS t FROM access_tokens'),
    mas.query<{ t: string | null }>(`SELECT ${ms('min(installed_on)')}::text AS t FROM _sqlx_migrations`),
  ]);
  const synapseLastValidated = num(s.rows[0]?.t ?? null);
  const masSchemaInstalled = num(m.rows[0]?.t ?? null);
  const known = [synapseLastValidated, masSchemaInstalled].filter((v): v is number => v !== null);
  // With neither bound, nothing can be shown to be newer than the migration: every extra row is an error.
  return { ms: known.length === 0 ? Number.POSITIVE_INFINITY : Math.max(...known), synapseLastValidated, masSchemaInstalled };
}

export async function masUsage(mas: pg.Client): Promise<Record<string, number>> {
  // Sessions the migration never writes: any of them means MAS has been used. A table this MAS
  // version does not have is left out (checked first: a missing table fails the whole query).
  const tables = { oauth2Sessions: 'oauth2_sessions', browserSessions: 'user_sessions', personalSessions: 'personal_sessions' } as const;
  const { rows } = await mas.query<{ t: string }>(`SELECT t FROM unnest($1::text[]) t WHERE to_regclass(t) IS NOT NULL`, [Object.values(tables)]);
  const present = new Set(rows.map((r) => r.t));
  const out: Record<string, number> = {};
  for (const [name, table] of Object.entries(tables)) {
    if (!present.has(table)) continue;
    const counted = await mas.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    out[name] = counted.rows[0]?.n ?? 0;
  }
  return out;
}
