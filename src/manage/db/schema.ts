// What the database backend needs to know about the MAS schema before it writes anything: that it is
// a MAS release mas-tool knows (writing rows into a schema we have not read is how data gets
// corrupted silently), and the few differences between the releases it knows. Read once, at open.
import {
  KNOWN_MAS_RELEASES,
  NEWEST_SUPPORTED_MIGRATION,
  OLDEST_SUPPORTED_MIGRATION,
  emailsNeedConfirmedAt,
  inspectMasSchema,
} from '../../db/mas-schema.js';
import type { Queryable } from '../../db/queryable.js';
import { MasToolError } from '../../errors.js';

export interface ManageSchema {
  latestMigration: string;
  /** The MAS release this is exactly, when it is one we know by name. */
  release: string | undefined;
  /** user_emails still has confirmed_at (MAS before v1.10): new addresses must be confirmed. */
  emailsNeedConfirmedAt: boolean;
  /** pg_trgm's similarity() is callable (MAS installs pg_trgm since its 20250915092000 migration). */
  trigram: boolean;
  /** MAS before v1.10 still has user_email_confirmation_codes, whose rows block deleting an address. */
  emailConfirmationCodes: boolean;
  /** user_registration_tokens exists (MAS added it in 0.17; a v0.16 schema has none). */
  registrationTokens: boolean;
}

/** The columns the backend reads or writes, per table. */
const NEEDED_COLUMNS: Record<string, readonly string[]> = {
  users: ['user_id', 'username', 'created_at', 'locked_at', 'deactivated_at', 'can_request_admin'],
  user_passwords: ['user_password_id', 'user_id', 'hashed_password', 'version', 'upgraded_from_id', 'created_at'],
  user_emails: ['user_email_id', 'user_id', 'email', 'created_at'],
  upstream_oauth_providers: ['upstream_oauth_provider_id', 'issuer', 'human_name', 'disabled_at'],
  upstream_oauth_links: ['upstream_oauth_link_id', 'upstream_oauth_provider_id', 'user_id', 'subject', 'human_account_name', 'created_at'],
  upstream_oauth_authorization_sessions: ['upstream_oauth_link_id', 'unlinked_at'],
  compat_sessions: ['compat_session_id', 'user_id', 'device_id', 'user_session_id', 'created_at', 'finished_at', 'is_synapse_admin', 'human_name'],
  compat_access_tokens: ['compat_access_token_id', 'compat_session_id', 'access_token', 'created_at', 'expires_at'],
  oauth2_sessions: ['oauth2_session_id', 'user_id', 'finished_at'],
  user_sessions: ['user_session_id', 'user_id', 'finished_at'],
  queue_jobs: ['queue_job_id', 'queue_name', 'payload', 'metadata', 'created_at', 'status'],
};

const MIGRATE_HINT = 'Point mas-tool at the database of a running MAS (its `database` section), or run `mas-cli database migrate` first.';

function unsupported(message: string, hint: string, details: Record<string, unknown>): MasToolError {
  return new MasToolError('MAS_TOOL_MAS_SCHEMA_UNSUPPORTED', message, { hint, details });
}

export async function inspectManageSchema(db: Queryable): Promise<ManageSchema> {
  const schema = await inspectMasSchema(db);
  if (schema.leftovers.length > 0) {
    throw unsupported(
      `The MAS database still holds the tables of an interrupted syn2mas run (${schema.leftovers.join(', ')}); mas-tool will not change it.`,
      'Finish or reset that migration first (`mas-tool syn2mas check` says how).',
      { leftovers: schema.leftovers },
    );
  }
  const latest = schema.latestMigration;
  if (latest === null || schema.columns.users === undefined) {
    throw new MasToolError('MAS_TOOL_MAS_SCHEMA_MISSING', 'The MAS database has no MAS schema (no _sqlx_migrations or users table).', {
      hint: MIGRATE_HINT,
    });
  }
  const supported = { oldest: OLDEST_SUPPORTED_MIGRATION, newest: NEWEST_SUPPORTED_MIGRATION };
  if (schema.failedMigrations.length > 0) {
    throw unsupported(
      `The MAS database has failed migrations (${schema.failedMigrations.join(', ')}); its schema is in an unknown state.`,
      'Fix the migration error shown in the MAS logs and start MAS again, then retry.',
      { latestMigration: latest, failedMigrations: schema.failedMigrations },
    );
  }
  const oldest = KNOWN_MAS_RELEASES[0]?.release ?? OLDEST_SUPPORTED_MIGRATION;
  const newest = KNOWN_MAS_RELEASES[KNOWN_MAS_RELEASES.length - 1]?.release ?? NEWEST_SUPPORTED_MIGRATION;
  if (BigInt(latest) < BigInt(OLDEST_SUPPORTED_MIGRATION)) {
    throw unsupported(
      `The MAS database schema is older than MAS ${oldest} (latest migration ${latest}); mas-tool writes MAS ${oldest} to ${newest} only.`,
      `Upgrade MAS to ${oldest} or later (it migrates its database when it starts), then retry.`,
      { latestMigration: latest, supported },
    );
  }
  if (BigInt(latest) > BigInt(NEWEST_SUPPORTED_MIGRATION)) {
    throw unsupported(
      `The MAS database schema is newer than MAS ${newest}, the newest release this mas-tool knows (latest migration ${latest}); writing it directly could break it.`,
      'Use the MAS admin API instead of the database (it works with any MAS release), or upgrade mas-tool.',
      { latestMigration: latest, supported },
    );
  }
  const extra = await db.query<{ table_name: string; columns: string[] }>(
    `SELECT table_name::text, array_agg(column_name::text) AS columns
       FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ANY($1)
      GROUP BY table_name`,
    [Object.keys(NEEDED_COLUMNS)],
  );
  const have = new Map(extra.rows.map((r) => [r.table_name, r.columns]));
  const missing = Object.entries(NEEDED_COLUMNS).flatMap(([table, columns]) => {
    const present = have.get(table);
    if (present === undefined) return [`table ${table}`];
    return columns.filter((c) => !present.includes(c)).map((c) => `${table}.${c}`);
  });
  if (missing.length > 0) {
    throw unsupported(
      `The MAS database lacks ${missing.join(', ')}, which every MAS release mas-tool knows has; it is not a MAS schema mas-tool can write.`,
      MIGRATE_HINT,
      { latestMigration: latest, missing },
    );
  }
  const { rows } = await db.query<{ trigram: boolean; codes: boolean; tokens: boolean }>(
    `SELECT to_regprocedure('similarity(text,text)') IS NOT NULL AS trigram,
            to_regclass('user_email_confirmation_codes') IS NOT NULL AS codes,
            to_regclass('user_registration_tokens') IS NOT NULL AS tokens`,
  );
  return {
    latestMigration: latest,
    release: schema.release,
    emailsNeedConfirmedAt: emailsNeedConfirmedAt(schema),
    trigram: rows[0]?.trigram === true,
    emailConfirmationCodes: rows[0]?.codes === true,
    registrationTokens: rows[0]?.tokens === true,
  };
}
