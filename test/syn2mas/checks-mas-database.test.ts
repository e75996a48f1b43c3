import { afterEach, describe, expect, it } from 'vitest';
import { emailsNeedConfirmedAt, inspectMasSchema } from '../../src/db/mas-schema.js';
import { checkMasDatabase } from '../../src/syn2mas/checks/mas-database.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import type { TemplateName } from '../helpers/templates.js';

const opened: TestDatabase[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((d) => d.drop()));
});

async function fresh(template: TemplateName): Promise<TestDatabase> {
  const db = await createTestDatabase(template);
  opened.push(db);
  return db;
}

async function run(db: TestDatabase) {
  const schema = await inspectMasSchema(db.client);
  return { schema, findings: await checkMasDatabase(db.client, schema) };
}

describe('MAS database checks', () => {
  it('passes an empty MAS database on the 1.22 line', async () => {
    const { schema, findings } = await run(await fresh('mas'));
    expect(findings).toEqual([]);
    expect(schema).toMatchObject({ latestMigration: '20260720134722', migrationCount: 167, release: '1.22', leftovers: [] });
    expect(emailsNeedConfirmedAt(schema)).toBe(false);
  });

  it('passes a MAS v1.9 database and notes that emails need confirmed_at', async () => {
    const { schema, findings } = await run(await fresh('mas-pre-1.10'));
    expect(findings).toEqual([]);
    expect(schema.release).toBe('v1.9.0');
    expect(emailsNeedConfirmedAt(schema)).toBe(true);
  });

  it('E_MAS_SCHEMA_MISSING: no MAS tables', async () => {
    const { findings } = await run(await fresh('empty'));
    expect(findings.map((f) => f.code)).toEqual(['E_MAS_SCHEMA_MISSING']);
    expect(findings[0]?.fix).toContain('mas-cli database migrate');
  });

  it('E_MAS_SCHEMA_UNSUPPORTED: a newer MAS than mas-tool knows', async () => {
    const db = await fresh('mas');
    await db.client.query(`INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (20270101000000, 'future', true, '\\x00', 1)`);
    const { findings } = await run(db);
    expect(findings.map((f) => f.code)).toEqual(['E_MAS_SCHEMA_UNSUPPORTED']);
    expect(findings[0]?.message).toContain('newer than the 1.22 line');
    expect(findings[0]?.fix).toMatch(/Upgrade mas-tool/);
  });

  it('E_MAS_SCHEMA_UNSUPPORTED: older than v0.16.0, or a failed migration, or a missing column', async () => {
    const old = await fresh('mas');
    await old.client.query(`DELETE FROM _sqlx_migrations WHERE version >= 20250425113717`);
    expect((await run(old)).findings[0]?.message).toContain('older than MAS v0.16.0');

    const failed = await fresh('mas');
    await failed.client.query(`UPDATE _sqlx_migrations SET success = false WHERE version = 20260720134722`);
    expect((await run(failed)).findings[0]?.message).toContain('migrations 20260720134722 failed');

    const altered = await fresh('mas');
    await altered.client.query(`ALTER TABLE users DROP COLUMN is_guest CASCADE`);
    expect((await run(altered)).findings[0]?.message).toContain('users lacks is_guest');
  });

  it('E_MAS_NOT_EMPTY: lists every non-empty target table with its row count', async () => {
    const db = await fresh('mas');
    await db.client.query(`
      INSERT INTO users (user_id, username, created_at) VALUES ('01890000-0000-0000-0000-000000000001', 'alice', now()), ('01890000-0000-0000-0000-000000000002', 'bob', now());
      INSERT INTO user_emails (user_email_id, user_id, email, created_at) VALUES ('01890000-0000-0000-0000-000000000003', '01890000-0000-0000-0000-000000000001', 'a@example.com', now());`);
    const { findings } = await run(db);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ code: 'E_MAS_NOT_EMPTY', details: { tables: { users: 2, user_emails: 1 } } });
    expect(findings[0]?.message).toBe('The MAS database is not empty: users (2 rows), user_emails (1 row).');
    expect(findings[0]?.fix).toContain('mas-tool syn2mas verify');
  });

  it('E_MAS_NOT_EMPTY: a registration token issued before migrating counts too (the migration writes that table)', async () => {
    const db = await fresh('mas');
    await db.client.query(`INSERT INTO user_registration_tokens (user_registration_token_id, token, usage_limit, created_at) VALUES (gen_random_uuid(), 'early-invite', 1, now())`);
    const { findings } = await run(db);
    expect(findings.map((f) => [f.code, f.message])).toEqual([['E_MAS_NOT_EMPTY', 'The MAS database is not empty: user_registration_tokens (1 row).']]);
  });

  it('passes a MAS schema from before registration tokens (v0.16.0): that table is optional', async () => {
    const db = await fresh('mas-pre-1.10');
    await db.client.query(`DROP TABLE user_registration_tokens CASCADE; DELETE FROM _sqlx_migrations WHERE version > 20250425113717`);
    const { schema, findings } = await run(db);
    expect(findings).toEqual([]);
    expect(schema.release).toBe('v0.16.0');
    expect(schema.columns.user_registration_tokens).toBeUndefined();
  });

  it('E_MAS_MIGRATION_IN_PROGRESS: tables left by an interrupted run of the real tool', async () => {
    const db = await fresh('mas');
    await db.client.query(`
      CREATE TABLE syn2mas_restore_constraints (order_key SERIAL PRIMARY KEY, table_name TEXT NOT NULL, name TEXT NOT NULL, definition TEXT NOT NULL);
      CREATE TABLE syn2mas_restore_indices (order_key SERIAL PRIMARY KEY, table_name TEXT NOT NULL, name TEXT NOT NULL, definition TEXT NOT NULL);
      ALTER TABLE users RENAME TO syn2mas__users;`);
    const { findings } = await run(db);
    expect(findings.map((f) => f.code)).toEqual(['E_MAS_MIGRATION_IN_PROGRESS']);
    expect(findings[0]?.details?.tables).toEqual(['syn2mas__users', 'syn2mas_restore_constraints', 'syn2mas_restore_indices']);
  });
});
