// What a MAS database looks like: which sqlx migrations ran, which columns the tables mas-tool writes
// actually have, and whether an interrupted syn2mas run left its marks. Read-only.
import type { Queryable } from './queryable.js';

/** The tables of rows that belong to a user, in dependency order (a staged delta applies them user by user). */
export const MAS_USER_TABLES = [
  'users',
  'user_passwords',
  'user_emails',
  'user_unsupported_third_party_ids',
  'upstream_oauth_links',
  'compat_sessions',
  'compat_access_tokens',
  'compat_refresh_tokens',
] as const;
export type MasUserTable = (typeof MAS_USER_TABLES)[number];

/** The tables a migration writes, in dependency order: the users' tables, then the server's own rows. */
export const MAS_TARGET_TABLES = [...MAS_USER_TABLES, 'user_registration_tokens'] as const;
export type MasTargetTable = (typeof MAS_TARGET_TABLES)[number];

/**
 * Target tables that MAS gained after v0.16.0, the oldest schema mas-tool supports. When one is
 * missing, the migration does not write its rows (and says so); every other table is required.
 * (user_registration_tokens came with migration 20250602212100, between v0.16.0 and v1.0.0.)
 */
export const OPTIONAL_TARGET_TABLES: ReadonlySet<MasTargetTable> = new Set(['user_registration_tokens']);

/** The target tables this MAS schema has: all of them, less the optional ones it lacks. */
export function presentTargetTables(schema: MasSchema): MasTargetTable[] {
  return MAS_TARGET_TABLES.filter((t) => schema.columns[t] !== undefined || !OPTIONAL_TARGET_TABLES.has(t));
}

/** The columns mas-tool writes, present in every MAS schema it supports (v0.16.0 onwards) that has the table. */
export const REQUIRED_COLUMNS: Record<MasTargetTable, readonly string[]> = {
  users: ['user_id', 'username', 'created_at', 'locked_at', 'deactivated_at', 'can_request_admin', 'is_guest'],
  user_passwords: ['user_password_id', 'user_id', 'hashed_password', 'created_at', 'version'],
  user_emails: ['user_email_id', 'user_id', 'email', 'created_at'],
  user_unsupported_third_party_ids: ['user_id', 'medium', 'address', 'created_at'],
  upstream_oauth_links: ['upstream_oauth_link_id', 'user_id', 'upstream_oauth_provider_id', 'subject', 'created_at'],
  compat_sessions: [
    'compat_session_id',
    'user_id',
    'device_id',
    'human_name',
    'created_at',
    'is_synapse_admin',
    'last_active_at',
    'last_active_ip',
    'user_agent',
  ],
  compat_access_tokens: ['compat_access_token_id', 'compat_session_id', 'access_token', 'created_at', 'expires_at'],
  compat_refresh_tokens: ['compat_refresh_token_id', 'compat_session_id', 'compat_access_token_id', 'refresh_token', 'created_at'],
  user_registration_tokens: ['user_registration_token_id', 'token', 'usage_limit', 'times_used', 'created_at', 'expires_at'],
};

/** Latest migration of the MAS releases we know by name (sqlx `_sqlx_migrations.version`). */
export const KNOWN_MAS_RELEASES: ReadonlyArray<{ release: string; latest: string; count: number }> = [
  { release: 'v0.16.0', latest: '20250425113717', count: 109 },
  { release: 'v1.0.0', latest: '20250709142240', count: 120 },
  { release: 'v1.9.0', latest: '20251127145951', count: 126 },
  { release: 'v1.10.0', latest: '20260121112201', count: 143 },
  { release: 'v1.20.0', latest: '20260623100001', count: 164 },
  { release: '1.22', latest: '20260720134722', count: 167 },
];
export const OLDEST_SUPPORTED_MIGRATION = '20250425113717';
export const NEWEST_SUPPORTED_MIGRATION = '20260720134722';
/** v1.10.0 drops user_emails.confirmed_at and users.primary_user_email_id. */
export const CONFIRMED_AT_DROPPED_IN = '20260108120030';

export interface MasSchema {
  /** Null when there is no `_sqlx_migrations` table at all. */
  latestMigration: string | null;
  migrationCount: number;
  failedMigrations: string[];
  /** The named release whose latest migration equals ours, when there is one. */
  release: string | undefined;
  /** Columns of each target table that exists (in the current schema). */
  columns: Partial<Record<MasTargetTable, string[]>>;
  /** Leftovers of an interrupted run of the real tool (or of ours). */
  leftovers: string[];
}

export async function inspectMasSchema(db: Queryable): Promise<MasSchema> {
  const tables = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`,
  );
  const names = new Set(tables.rows.map((r) => r.table_name));
  const schema: MasSchema = {
    latestMigration: null,
    migrationCount: 0,
    failedMigrations: [],
    release: undefined,
    columns: {},
    leftovers: [...names].filter((n) => n.startsWith('syn2mas_restore_') || n.startsWith('syn2mas__')).sort(),
  };
  if (names.has('_sqlx_migrations')) {
    const { rows } = await db.query<{ latest: string | null; n: number; failed: string[] | null }>(
      `SELECT max(version) FILTER (WHERE success)::text AS latest, count(*)::int AS n,
              array_agg(version::text ORDER BY version) FILTER (WHERE NOT success) AS failed
         FROM _sqlx_migrations`,
    );
    const row = rows[0];
    schema.latestMigration = row?.latest ?? null;
    schema.migrationCount = row?.n ?? 0;
    schema.failedMigrations = row?.failed ?? [];
    schema.release = KNOWN_MAS_RELEASES.find((r) => r.latest === schema.latestMigration)?.release;
  }
  const { rows } = await db.query<{ table_name: MasTargetTable; columns: string[] }>(
    `SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position) AS columns
       FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ANY($1)
      GROUP BY table_name`,
    [[...MAS_TARGET_TABLES]],
  );
  for (const r of rows) schema.columns[r.table_name] = r.columns;
  return schema;
}

/** True when imported emails need `confirmed_at` (MAS before v1.10). */
export function emailsNeedConfirmedAt(schema: MasSchema): boolean {
  return schema.columns.user_emails?.includes('confirmed_at') ?? false;
}
