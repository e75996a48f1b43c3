// Our schema fixtures stand in for real Synapse and MAS databases in every database test; these
// tests pin the facts the rest of the suite relies on.
import { describe, expect, it } from 'vitest';
import { loadFixture, useTestDatabase } from '../helpers/db.js';

// The constraints and indexes mas-cli's syn2mas pauses on the 1.22 line, by name.
const PAUSED_CONSTRAINTS = [
  'user_passwords_user_id_fkey', 'user_emails_user_id_fkey', 'user_sessions_user_id_fkey', 'compat_sessions_user_id_fkey',
  'upstream_oauth_link_user_fkey', 'oauth2_sessions_user_id_fkey', 'user_terms_user_id_fkey',
  'user_unsupported_third_party_ids_user_id_fkey', 'personal_sessions_owner_user_id_fkey', 'personal_sessions_actor_user_id_fkey',
  'users_pkey', 'users_username_unique', 'user_passwords_upgraded_from_id_fkey',
  'user_session_authentications_user_password_id_fkey', 'user_passwords_pkey', 'user_recovery_tickets_user_email_id_fkey',
  'user_emails_pkey', 'user_unsupported_third_party_ids_pkey', 'upstream_oauth_authorization_sessions_link_fkey',
  'upstream_oauth_links_pkey', 'upstream_oauth_links_subject_unique', 'upstream_oauth_links_provider_fkey',
  'compat_sso_logins_compat_session_id_fkey', 'compat_access_tokens_compat_session_id_fkey',
  'compat_refresh_tokens_compat_session_id_fkey', 'compat_sessions_pkey', 'compat_sessions_user_session_id_fkey',
  'compat_refresh_tokens_compat_access_token_id_fkey', 'compat_access_tokens_pkey', 'compat_access_tokens_access_token_unique',
  'compat_refresh_tokens_pkey', 'compat_refresh_tokens_refresh_token_unique',
];
const PAUSED_INDEXES = [
  'users_lower_username_idx', 'users_username_trgm_idx', 'user_passwords_user_fk', 'user_emails_email_idx', 'user_emails_user_fk',
  'user_emails_lower_email_idx', 'upstream_oauth_links_provider_fk', 'upstream_oauth_links_user_fk', 'idx_upstream_oauth_links_orphaned',
  'upstream_oauth_links_human_account_name_trgm_idx', 'compat_sessions_last_active_at_idx', 'compat_sessions_user_fk',
  'compat_sessions_user_session_fk', 'compat_sessions_finished_at_idx', 'compat_sessions_inactive_ips_idx',
  'compat_sessions_active_user_idx', 'compat_access_tokens_session_fk', 'compat_refresh_tokens_session_fk',
  'compat_refresh_tokens_access_token_fk',
];

describe('Synapse schema fixture', () => {
  const db = useTestDatabase('synapse');

  it('is Synapse schema version 94', async () => {
    const { rows } = await db.client.query('SELECT version, upgraded FROM schema_version');
    expect(rows).toEqual([{ version: 94, upgraded: true }]);
  });

  it('has the auth tables with their unique keys', async () => {
    const { rows } = await db.client.query<{ conname: string }>(
      `SELECT conname FROM pg_constraint WHERE conrelid::regclass::text IN ('users','user_threepids','user_external_ids','devices','access_tokens','refresh_tokens') ORDER BY 1`,
    );
    expect(rows.map((r) => r.conname)).toEqual(
      expect.arrayContaining(['users_name_key', 'medium_address', 'device_uniqueness', 'access_tokens_token_key', 'refresh_tokens_next_token_id_fkey']),
    );
  });

  it('takes the data fixture with users of every kind', async () => {
    await loadFixture(db.client, 'synapse-data.sql');
    const { rows } = await db.client.query<{ kind: string; n: number }>(`
      SELECT kind, count(*)::int AS n FROM (
        SELECT CASE WHEN appservice_id IS NOT NULL THEN 'appservice' WHEN is_guest <> 0 THEN 'guest'
                    WHEN deactivated <> 0 THEN 'deactivated' WHEN locked THEN 'locked'
                    WHEN admin <> 0 THEN 'admin' ELSE 'normal' END AS kind FROM users) k
      GROUP BY kind ORDER BY kind`);
    expect(Object.fromEntries(rows.map((r) => [r.kind, r.n]))).toEqual({ admin: 1, appservice: 2, deactivated: 1, guest: 1, locked: 1, normal: 4 });
  });
});

describe('MAS schema fixture (1.22 line)', () => {
  const db = useTestDatabase('mas');

  it('records the 167 migrations up to 20260720134722', async () => {
    const { rows } = await db.client.query('SELECT count(*)::int AS n, max(version)::text AS latest, bool_and(success) AS ok FROM _sqlx_migrations');
    expect(rows[0]).toEqual({ n: 167, latest: '20260720134722', ok: true });
  });

  it('has every constraint and index that a bulk load pauses', async () => {
    const cons = await db.client.query<{ conname: string }>('SELECT conname FROM pg_constraint');
    expect(cons.rows.map((r) => r.conname)).toEqual(expect.arrayContaining(PAUSED_CONSTRAINTS));
    const idx = await db.client.query<{ indexname: string }>('SELECT indexname FROM pg_indexes');
    expect(idx.rows.map((r) => r.indexname)).toEqual(expect.arrayContaining(PAUSED_INDEXES));
  });

  it('has no confirmed_at on user_emails (dropped in v1.10)', async () => {
    const { rows } = await db.client.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'user_emails' ORDER BY ordinal_position`);
    expect(rows.map((r) => r.column_name)).toEqual(['user_email_id', 'user_id', 'email', 'created_at']);
  });

  it('notifies the MAS worker when a job is queued', async () => {
    await db.client.query('LISTEN queue_available');
    const notified = new Promise<string | undefined>((resolve) => db.client.once('notification', (n) => resolve(n.payload)));
    await db.client.query(
      `INSERT INTO queue_jobs (queue_job_id, queue_name, payload, metadata, created_at) VALUES (gen_random_uuid(), 'provision-user', '{}', '{}', now())`,
    );
    expect(JSON.parse((await notified) ?? 'null')).toEqual({ queue: 'provision-user' });
  });
});

describe('MAS schema fixture before v1.10', () => {
  const db = useTestDatabase('mas-pre-1.10');

  it('is the v1.9.0 shape: 126 migrations, confirmed_at and primary_user_email_id present', async () => {
    const { rows } = await db.client.query('SELECT count(*)::int AS n, max(version)::text AS latest FROM _sqlx_migrations');
    expect(rows[0]).toEqual({ n: 126, latest: '20251127145951' });
    const cols = await db.client.query(
      `SELECT table_name || '.' || column_name AS c FROM information_schema.columns WHERE (table_name, column_name) IN (('user_emails','confirmed_at'),('users','primary_user_email_id')) ORDER BY 1`,
    );
    expect(cols.rows.map((r) => r.c)).toEqual(['user_emails.confirmed_at', 'users.primary_user_email_id']);
  });
});
