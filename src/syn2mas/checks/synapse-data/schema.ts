// Is this a Synapse database, and a recent enough one? Everything else in the data checks assumes
// the answer is yes, so a finding here ends the data checks.
import type { Queryable } from '../../../db/queryable.js';
import { finding, type Finding } from '../../../report/finding.js';

/** users.locked arrived in delta 80 (Synapse 1.90); the real tool needs it too. */
export const MIN_SYNAPSE_SCHEMA = 80;

const REQUIRED_TABLES = ['schema_version', 'users', 'user_threepids', 'user_external_ids', 'devices', 'access_tokens', 'refresh_tokens'];

export interface SynapseSchema {
  /** schema_version.version, when that table has a row. */
  schemaVersion: number | undefined;
  /** The required tables (and background_updates) present in the current schema. */
  present: ReadonlySet<string>;
  /** PostgreSQL's server_version_num (some SQL differs before 16). */
  serverVersion: number;
}

/** The schema facts, and the finding that stops the data checks (E_SYNAPSE_SCHEMA_*), if any. */
export async function checkSynapseSchema(db: Queryable): Promise<{ schema: SynapseSchema; stop?: Finding }> {
  const { rows: envRows } = await db.query<{ schema: string | null; present: string[] | null; server_version: number }>(
    `SELECT current_schema() AS schema,
            (SELECT array_agg(c.relname::text) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = current_schema() AND c.relname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')) AS present,
            current_setting('server_version_num')::int AS server_version`,
    [[...REQUIRED_TABLES, 'background_updates']],
  );
  const env = envRows[0];
  const present = new Set(env?.present ?? []);
  const missing = REQUIRED_TABLES.filter((t) => !present.has(t));
  let schemaVersion: number | undefined;
  if (present.has('schema_version')) {
    const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_version LIMIT 1');
    schemaVersion = rows[0]?.version;
  }
  const schema: SynapseSchema = { schemaVersion, present, serverVersion: env?.server_version ?? 0 };
  if (missing.length > 0 || schemaVersion === undefined) {
    const what = missing.length > 0 ? `missing ${missing.join(', ')}` : 'schema_version has no row';
    return {
      schema,
      stop: finding('E_SYNAPSE_SCHEMA_MISSING', 'error', `This is not a Synapse database: ${what} (schema ${env?.schema ?? '(none)'}).`, {
        fix:
          "Point mas-tool at Synapse's main database: the one in homeserver.yaml's database section (with several databases, the one " +
          "whose data_stores include 'main'), and the schema Synapse uses (the role's search_path). If it is a new server, start Synapse once first.",
        details: { missingTables: missing, schema: env?.schema ?? null, ...(missing.length === 0 ? { schemaVersionRow: false } : {}) },
      }),
    };
  }
  if (schemaVersion < MIN_SYNAPSE_SCHEMA) {
    return {
      schema,
      stop: finding(
        'E_SYNAPSE_SCHEMA_TOO_OLD',
        'error',
        `The Synapse database schema is version ${schemaVersion}; migrating needs version ${MIN_SYNAPSE_SCHEMA} or later (users.locked, Synapse 1.90).`,
        {
          fix:
            'Upgrade Synapse to at least 1.136 (the first release with the stable MAS integration), start it once so that it upgrades ' +
            'its database schema, let it finish its background updates, then run the check again.',
          details: { found: schemaVersion, minimum: MIN_SYNAPSE_SCHEMA },
        },
      ),
    };
  }
  return { schema };
}
