// A staged migration: `migrate --stage` while Synapse runs, Synapse changes, more stages, then the
// cut-over (`migrate`). The bar is exact: after the cut-over every MAS table holds, row for row and
// id for id, what a full migration of the final Synapse writes with the stage's id key and time.
// Each test compares all nine tables with such a full migration made into a database of its own.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ulidToUUID } from 'ulid';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/connection.js';
import { inspectMasSchema, MAS_TARGET_TABLES } from '../../src/db/mas-schema.js';
import { loadSyn2masContext } from '../../src/syn2mas/context.js';
import { runMigration } from '../../src/syn2mas/migrate.js';
import type { DeltaReport } from '../../src/syn2mas/stage/delta.js';
import type { StageRecord } from '../../src/syn2mas/stage/record.js';
import { run } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { snapshotDatabase } from '../helpers/db-snapshot.js';
import { createSyn2masEnv, PROVIDER_ULID, type Syn2masEnv } from '../helpers/syn2mas-env.js';

const BIN = fileURLToPath(new URL('../../bin/mas-tool.js', import.meta.url));
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

async function env(): Promise<Syn2masEnv> {
  const e = await createSyn2masEnv();
  cleanups.push(() => e.drop());
  return e;
}

async function stage(e: Syn2masEnv, ...extra: string[]): Promise<Record<string, unknown>> {
  const r = await run(['syn2mas', 'migrate', '--stage', '--json', ...extra, ...e.args('main')]);
  expect(r.stderr).not.toContain('error:');
  const errors = (JSON.parse(r.stdout) as { findings?: Array<{ code: string; severity: string; message: string }> }).findings?.filter((f) => f.severity === 'error');
  expect(errors ?? []).toEqual([]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

async function cutover(e: Syn2masEnv): Promise<DeltaReport> {
  const r = await run(['syn2mas', 'migrate', '--json', ...e.args('main')]);
  expect(r.stderr).not.toContain('error:');
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { delta: DeltaReport }).delta;
}

async function stageRecord(e: Syn2masEnv): Promise<StageRecord> {
  const { rows } = await e.mas.client.query<{ record: StageRecord }>('SELECT record FROM mas_tool_stage.stage');
  const record = rows[0]?.record;
  if (record === undefined) throw new Error('no stage record');
  return record;
}

/** Every row of every MAS table the migration writes, as sorted JSON lines per table. */
async function masRows(client: pg.Client): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of MAS_TARGET_TABLES) {
    const { rows } = await client.query<{ r: string }>(`SELECT row_to_json(x)::text AS r FROM ${t} x`);
    out[t] = rows.map((r) => r.r).sort();
  }
  return out;
}

/** A full migration of `e`'s Synapse as it is now, with the stage's key and time, into a new MAS database. */
async function fullMigration(e: Syn2masEnv, record: StageRecord): Promise<Record<string, string[]>> {
  const mas: TestDatabase = await createTestDatabase('mas');
  cleanups.push(() => mas.drop());
  await mas.client.query(
    `INSERT INTO upstream_oauth_providers (upstream_oauth_provider_id, issuer, scope, client_id, token_endpoint_auth_method, created_at)
     VALUES ($1, 'https://id.example.com/', 'openid', 'mas', 'client_secret_basic', now())`,
    [ulidToUUID(PROVIDER_ULID)],
  );
  const args = e.args(`full-${mas.name}`, { masUrl: mas.url });
  const ctx = loadSyn2masContext({ masConfigPaths: [args[1] ?? ''], synapseConfigPaths: [args[3] ?? ''], env: {} });
  const probe = await connect(ctx.masDb);
  const schema = await inspectMasSchema(probe).finally(() => probe.end());
  await runMigration(ctx, schema, {
    dryRun: false,
    providerMapping: new Map(Object.entries(record.providerMapping)),
    skippedProviders: new Set(record.skippedProviders),
    idSecret: Buffer.from(record.idSecret, 'hex'),
    now: record.now,
  });
  return masRows(mas.client);
}

/** Synapse's side of life between the stage and the cut-over: something of every kind changes. */
const CHURN = `
  -- a new user with a password, an email, a device and a token
  INSERT INTO users (name, password_hash, creation_ts, shadow_banned) VALUES ('@henry:example.com', '$2b$12$henryHenryHenryHenryHe.uQmGd7Dq0zI7pX8tV9wY1aB2cD3eF4', 1720000000, false);
  INSERT INTO user_threepids (user_id, medium, address, validated_at, added_at) VALUES ('@henry:example.com', 'email', 'henry@example.com', 1720000000000, 1720000000000);
  INSERT INTO devices (user_id, device_id, display_name, last_seen, ip, user_agent, hidden) VALUES ('@henry:example.com', 'HENRYDEV', 'Element Web', 1720000100000, '192.0.2.50', 'Firefox', false);
  INSERT INTO access_tokens (id, user_id, device_id, token, last_validated, used) VALUES (100, '@henry:example.com', 'HENRYDEV', 'syt_aGVucnk_AAAAAAAAAAAAAAAAAAAA_0aaaaa', 1720000001000, false);
  -- flags: grace becomes an admin (her session becomes an admin session), dave is unlocked
  UPDATE users SET admin = 1 WHERE name = '@grace:example.com';
  UPDATE users SET locked = false WHERE name = '@dave:example.com';
  -- frank is deactivated as Synapse does it: no password, no devices, no tokens, no 3PIDs
  UPDATE users SET deactivated = 1, password_hash = NULL WHERE name = '@frank:example.com';
  DELETE FROM access_tokens WHERE user_id = '@frank:example.com';
  DELETE FROM refresh_tokens WHERE user_id = '@frank:example.com';
  DELETE FROM devices WHERE user_id = '@frank:example.com';
  -- a users row goes (the guest)
  DELETE FROM devices WHERE user_id = '@100:example.com';
  DELETE FROM users WHERE name = '@100:example.com';
  -- passwords: alice changes hers
  UPDATE users SET password_hash = '$2b$12$aliceNewAliceNewAliceN.uQmGd7Dq0zI7pX8tV9wY1aB2cD3eF4' WHERE name = '@alice:example.com';
  -- emails and other 3PIDs: alice changes her address and drops her phone; bob adds both
  UPDATE user_threepids SET address = 'alice@new.example.com' WHERE user_id = '@alice:example.com' AND medium = 'email';
  DELETE FROM user_threepids WHERE user_id = '@alice:example.com' AND medium = 'msisdn';
  INSERT INTO user_threepids (user_id, medium, address, validated_at, added_at) VALUES
    ('@bob:example.com', 'email', 'bob@example.com', 1725000000000, 1725000000000),
    ('@bob:example.com', 'msisdn', '447700900999', 1725000000000, 1725000000000);
  -- SSO links: erin's goes to bob
  UPDATE user_external_ids SET user_id = '@bob:example.com' WHERE user_id = '@erin:example.com';
  -- devices: alice's was seen again elsewhere; bob adds a phone; erin's phone is removed with its token
  UPDATE devices SET last_seen = 1730000000000, ip = '198.51.100.99', user_agent = 'Element/1.12' WHERE user_id = '@alice:example.com' AND device_id = 'ADEVICE';
  INSERT INTO devices (user_id, device_id, display_name, last_seen, ip, user_agent, hidden) VALUES ('@bob:example.com', 'BOBPHONE', 'Element X', 1730000000000, '2001:db8::2', 'Element X', false);
  INSERT INTO access_tokens (id, user_id, device_id, token, last_validated, used) VALUES (101, '@bob:example.com', 'BOBPHONE', 'syt_Ym9i_BBBBBBBBBBBBBBBBBBBB_0bbbbb', 1730000000000, false);
  DELETE FROM access_tokens WHERE user_id = '@erin:example.com' AND device_id = 'ERINPHONE';
  DELETE FROM devices WHERE user_id = '@erin:example.com' AND device_id = 'ERINPHONE';
  -- access tokens: bob's laptop token was used again, alice's orphan-device token is gone
  UPDATE access_tokens SET last_validated = 1731000000000 WHERE id = 3;
  DELETE FROM access_tokens WHERE id = 2;
  -- refresh tokens: grace's client confirmed its rotation, so the old pair is superseded
  UPDATE access_tokens SET used = true WHERE id = 45;
  -- registration tokens (no user's): one made, one used up, one used again and extended, one deleted
  INSERT INTO registration_tokens (token, uses_allowed, pending, completed, expiry_time) VALUES ('MadeAfterStage', 2, 0, 0, NULL);
  UPDATE registration_tokens SET pending = 0, completed = 1 WHERE token = 'LastSeat-pending';
  UPDATE registration_tokens SET completed = 3, expiry_time = 4133980800000 WHERE token = 'Fr1endsInv1te-26';
  DELETE FROM registration_tokens WHERE token = 'Unl1mited_forever';
`;

describe('a staged migration', { timeout: 120_000 }, () => {
  it('stages while Synapse is up, then cuts over to exactly what a full migration of the final Synapse writes', async () => {
    const e = await env();
    const synapseAtStart = await snapshotDatabase(e.synapse.client);
    // A running Synapse: an open write transaction on users, which a plain migrate refuses.
    const synapseSession = new pg.Client({ connectionString: e.synapse.url, application_name: 'synapse_homeserver' });
    await synapseSession.connect();
    await synapseSession.query(`BEGIN; UPDATE users SET admin = admin WHERE name = '@alice:example.com'`);
    let staged: Record<string, unknown>;
    try {
      staged = await stage(e);
    } finally {
      await synapseSession.query('ROLLBACK');
      await synapseSession.end();
    }
    expect((staged.migration as { staged: { users: number } }).staged.users).toBeGreaterThan(5);
    expect(await snapshotDatabase(e.synapse.client)).toEqual(synapseAtStart);
    const record = await stageRecord(e);
    await e.synapse.client.query(CHURN);
    const synapseBefore = await snapshotDatabase(e.synapse.client);

    const delta = await cutover(e);
    expect(await snapshotDatabase(e.synapse.client)).toEqual(synapseBefore);
    expect(await masRows(e.mas.client)).toEqual(await fullMigration(e, record));

    expect(delta.mode).toBe('cutover');
    expect(delta.users).toMatchObject({ added: 1, removed: 1 });
    expect(delta.users.changed).toBeGreaterThanOrEqual(6);
    // Something of every kind was inserted, updated or deleted, and said so.
    for (const t of MAS_TARGET_TABLES) expect(Object.values(delta.tables[t] ?? {}).some((n) => n > 0), t).toBe(true);
    expect(delta.tables.users).toEqual({ inserted: 1, updated: 3, deleted: 1 });
    // The used-up and the deleted token go; the new one comes; the extended one is updated in place.
    expect(delta.tables.user_registration_tokens).toEqual({ inserted: 1, updated: 1, deleted: 2 });
    // Gone: the stage (the database is now what a full migration leaves).
    expect((await e.mas.client.query(`SELECT to_regnamespace('mas_tool_stage') AS s`)).rows[0]).toEqual({ s: null });
    const verify = await run(['syn2mas', 'verify', '--json', ...e.args('main')]);
    expect(verify.code).toBe(0);
  });

  it('refreshes the stage, more than once, and keeps the ids of rows that did not change', async () => {
    const e = await env();
    await stage(e);
    const record = await stageRecord(e);
    const { rows: before } = await e.mas.client.query<{ user_id: string }>(`SELECT user_id::text FROM users WHERE username = 'erin'`);
    // A password changed twice, with a refresh in between; a user deactivated after the refresh.
    await e.synapse.client.query(`UPDATE users SET password_hash = '$2b$12$firstChangeFirstChangeFi.uQmGd7Dq0zI7pX8tV9wY1aB2cD3eF' WHERE name = '@alice:example.com'`);
    const refreshed = (await stage(e)).delta as DeltaReport;
    expect(refreshed).toMatchObject({ mode: 'refresh', users: { changed: 1, added: 0, removed: 0 } });
    expect(refreshed.tables.user_passwords).toEqual({ inserted: 0, updated: 1, deleted: 0 });
    expect((await stageRecord(e)).refreshes).toBe(1);
    await e.synapse.client.query(`
      UPDATE users SET password_hash = '$2b$12$secondChangeSecondChang.uQmGd7Dq0zI7pX8tV9wY1aB2cD3eF' WHERE name = '@alice:example.com';
      UPDATE users SET deactivated = 1 WHERE name = '@grace:example.com';`);
    const again = (await stage(e)).delta as DeltaReport;
    expect(again.users.changed).toBe(2);
    // Nothing changed since: a third refresh finds nothing to do.
    const idle = (await stage(e)).delta as DeltaReport;
    expect(idle.users).toMatchObject({ changed: 0, added: 0, removed: 0 });
    await e.synapse.client.query(CHURN);
    await cutover(e);
    expect(await masRows(e.mas.client)).toEqual(await fullMigration(e, record));
    const { rows: after } = await e.mas.client.query<{ user_id: string }>(`SELECT user_id::text FROM users WHERE username = 'erin'`);
    expect(after).toEqual(before);
  });

  it('sees every kind of change alone: after each, a refresh equals a full migration of that Synapse', async () => {
    const e = await env();
    await stage(e);
    const record = await stageRecord(e);
    // One change at a time, each on its own, so that no other change of the same user hides it.
    const changes: Array<[string, string]> = [
      ['a token used again (its session is as old as its oldest token)', `UPDATE access_tokens SET last_validated = 1600000000000 WHERE id = 7`],
      ['a device seen again', `UPDATE devices SET last_seen = 1733000000000, ip = '192.0.2.77', user_agent = 'Element/2' WHERE device_id = 'BOBLAPTOP'`],
      ['a refresh rotation confirmed', `UPDATE access_tokens SET used = true WHERE id = 45`],
      ['a new token on a device', `INSERT INTO access_tokens (id, user_id, device_id, token, last_validated, used) VALUES (200, '@erin:example.com', 'ERINPHONE', 'syt_ZXJpbg_CCCCCCCCCCCCCCCCCCCC_0ccccc', 1733000000000, false)`],
      ['a token removed', `DELETE FROM access_tokens WHERE id = 7`],
      ['a user locked', `UPDATE users SET locked = true WHERE name = '@erin:example.com'`],
      ['an admin no longer admin', `UPDATE users SET admin = 0 WHERE name = '@bob:example.com'`],
      ['an email added', `INSERT INTO user_threepids (user_id, medium, address, validated_at, added_at) VALUES ('@erin:example.com', 'email', 'erin@example.com', 1733000000000, 1733000000000)`],
      ['a phone number removed', `DELETE FROM user_threepids WHERE user_id = '@alice:example.com' AND medium = 'msisdn'`],
      ['an SSO link removed', `DELETE FROM user_external_ids WHERE user_id = '@erin:example.com'`],
      ['a device removed with its tokens', `DELETE FROM access_tokens WHERE device_id = 'ADEVICE'; DELETE FROM devices WHERE device_id = 'ADEVICE'`],
      ['a refresh pair added', `INSERT INTO refresh_tokens (id, user_id, device_id, token, next_token_id) VALUES (50, '@grace:example.com', 'GRACEDEVICE', 'syr_Z3JhY2U_DDDDDDDDDDDDDDDDDDDD_0ddddd', NULL);
                                UPDATE refresh_tokens SET next_token_id = 50 WHERE id = 10;
                                INSERT INTO access_tokens (id, user_id, device_id, token, valid_until_ms, last_validated, refresh_token_id, used) VALUES (46, '@grace:example.com', 'GRACEDEVICE', 'syt_Z3JhY2U_EEEEEEEEEEEEEEEEEEEE_0eeeee', 1733000300000, 1733000000000, 50, false)`],
      ['an email address changed', `UPDATE user_threepids SET address = 'alice@changed.example.com' WHERE user_id = '@alice:example.com' AND medium = 'email'`],
      ['an email removed', `DELETE FROM user_threepids WHERE user_id = '@alice:example.com' AND medium = 'email'`],
      ['a phone number added', `INSERT INTO user_threepids (user_id, medium, address, validated_at, added_at) VALUES ('@grace:example.com', 'msisdn', '447700900777', 1733000000000, 1733000000000)`],
      ['an SSO link added', `INSERT INTO user_external_ids (auth_provider, external_id, user_id) VALUES ('oidc-raasu', 'grace.sub', '@grace:example.com')`],
      ['a password removed', `UPDATE users SET password_hash = NULL WHERE name = '@grace:example.com'`],
      ['a password set', `UPDATE users SET password_hash = '$2b$12$ivyIvyIvyIvyIvyIvyIvyIv.uQmGd7Dq0zI7pX8tV9wY1aB2cD3eF4' WHERE name = '@erin:example.com'`],
      ['a deviceless token added', `INSERT INTO access_tokens (id, user_id, device_id, token, last_validated, used) VALUES (300, '@grace:example.com', NULL, 'syt_Z3JhY2U_FFFFFFFFFFFFFFFFFFFF_0fffff', 1733000000000, false)`],
      ['a user deactivated', `UPDATE users SET deactivated = 1 WHERE name = '@dave:example.com'`],
      ['a user added', `INSERT INTO users (name, password_hash, creation_ts, shadow_banned) VALUES ('@ivy:example.com', NULL, 1733000000, false)`],
      ['a user removed', `DELETE FROM devices WHERE user_id = '@100:example.com'; DELETE FROM users WHERE name = '@100:example.com'`],
    ];
    for (const [what, sql] of changes) {
      await e.synapse.client.query(sql);
      const refreshed = (await stage(e)).delta as DeltaReport;
      expect(refreshed.users.changed + refreshed.users.added + refreshed.users.removed, what).toBe(1);
      expect(await masRows(e.mas.client), what).toEqual(await fullMigration(e, record));
    }
  });

  it('sees every change of a registration token alone: no user changed, and a refresh equals a full migration', async () => {
    const e = await env();
    await stage(e);
    const record = await stageRecord(e);
    const { rows: staged } = await e.mas.client.query<{ id: string }>(`SELECT user_registration_token_id::text AS id FROM user_registration_tokens WHERE token = 'Fr1endsInv1te-26'`);
    const changes: Array<[string, string, { inserted: number; updated: number; deleted: number }]> = [
      ['a token made', `INSERT INTO registration_tokens (token, uses_allowed, pending, completed, expiry_time) VALUES ('Brand-new', NULL, 0, 0, 4102444800000)`, { inserted: 1, updated: 0, deleted: 0 }],
      ['a registration completed', `UPDATE registration_tokens SET completed = 3 WHERE token = 'Fr1endsInv1te-26'`, { inserted: 0, updated: 1, deleted: 0 }],
      ['a registration started (pending is not carried)', `UPDATE registration_tokens SET pending = 2 WHERE token = 'Fr1endsInv1te-26'`, { inserted: 0, updated: 0, deleted: 0 }],
      ['more uses allowed', `UPDATE registration_tokens SET uses_allowed = 10 WHERE token = 'Fr1endsInv1te-26'`, { inserted: 0, updated: 1, deleted: 0 }],
      ['an expiry moved', `UPDATE registration_tokens SET expiry_time = 4133980800000 WHERE token = 'Fr1endsInv1te-26'`, { inserted: 0, updated: 1, deleted: 0 }],
      ['a token used up', `UPDATE registration_tokens SET pending = 0, completed = 1 WHERE token = 'LastSeat-pending'`, { inserted: 0, updated: 0, deleted: 1 }],
      ['an expired token extended', `UPDATE registration_tokens SET expiry_time = 4102444800000 WHERE token = 'Expired~2020'`, { inserted: 1, updated: 0, deleted: 0 }],
      ['a token made to expire', `UPDATE registration_tokens SET expiry_time = 1600000000000 WHERE token = 'Brand-new'`, { inserted: 0, updated: 0, deleted: 1 }],
      ['a token deleted', `DELETE FROM registration_tokens WHERE token = 'Unl1mited_forever'`, { inserted: 0, updated: 0, deleted: 1 }],
    ];
    for (const [what, sql, tokens] of changes) {
      await e.synapse.client.query(sql);
      const refreshed = (await stage(e)).delta as DeltaReport;
      expect(refreshed.users, what).toMatchObject({ changed: 0, added: 0, removed: 0 });
      expect(refreshed.tables.user_registration_tokens, what).toEqual(tokens);
      expect(await masRows(e.mas.client), what).toEqual(await fullMigration(e, record));
    }
    // A token that changed keeps its id: it is made from the token, with the stage's key and time.
    const { rows: after } = await e.mas.client.query<{ id: string }>(`SELECT user_registration_token_id::text AS id FROM user_registration_tokens WHERE token = 'Fr1endsInv1te-26'`);
    expect(after).toEqual(staged);
    await cutover(e);
    expect(await masRows(e.mas.client)).toEqual(await fullMigration(e, record));
  });

  it('a registration token issued into a staged database is MAS use: the cut-over refuses (E_STAGE_MAS_IN_USE)', async () => {
    const e = await env();
    await stage(e);
    const issued = await run(['manage', 'registration-token', 'issue', '--via', 'db', '--json', ...e.args('main').slice(0, 2)]);
    expect(issued.code, issued.stderr).toBe(0);
    const refused = await run(['syn2mas', 'migrate', '--json', ...e.args('main')]);
    expect(refused.code).toBe(10);
    expect((JSON.parse(refused.stdout) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'MAS_TOOL_STAGE_MAS_IN_USE',
      message: expect.stringContaining('user_registration_tokens has 4 rows, the stage left 3'),
    });
    // The check (which counts the staged rows unless it is the cut-over's) says so too.
    const check = await run(['syn2mas', 'check', '--json', ...e.args('main')]);
    expect((JSON.parse(check.stdout) as { findings: Array<{ code: string }> }).findings.map((f) => f.code)).toContain('E_STAGE_MAS_IN_USE');
  });

  it('continues a stage recorded before registration tokens were carried: they are added by the next run', async () => {
    const e = await env();
    await stage(e);
    const record = await stageRecord(e);
    // What such a stage looks like: no token rows, and no count for their table.
    const { user_registration_tokens: _tokens, ...older } = record.tableCounts;
    await e.mas.client.query(`DELETE FROM user_registration_tokens`);
    await e.mas.client.query(`UPDATE mas_tool_stage.stage SET record = $1::jsonb`, [JSON.stringify({ ...record, tableCounts: older })]);
    const refreshed = (await stage(e)).delta as DeltaReport;
    expect(refreshed.tables.user_registration_tokens).toEqual({ inserted: 3, updated: 0, deleted: 0 });
    await cutover(e);
    expect(await masRows(e.mas.client)).toEqual(await fullMigration(e, record));
  });

  it('a row of another server that appears after the stage is skipped by the cut-over, as a full migration skips it', async () => {
    const e = await env();
    await stage(e);
    const record = await stageRecord(e);
    await e.synapse.client.query(`INSERT INTO user_threepids (user_id, medium, address, validated_at, added_at) VALUES ('@mallory:other.example', 'email', 'm@other.example', 1, 1)`);
    const delta = await cutover(e);
    expect(delta.users).toMatchObject({ added: 1, changed: 0 });
    expect(Object.values(delta.tables).every((d) => d.inserted + d.updated + d.deleted === 0)).toBe(true);
    expect(await masRows(e.mas.client)).toEqual(await fullMigration(e, record));
  });

  it('a dry run of the stage and of the cut-over leaves MAS as it was', async () => {
    const e = await env();
    const empty = await snapshotDatabase(e.mas.client);
    const dry = await run(['syn2mas', 'migrate', '--stage', '--dry-run', '--json', ...e.args('main')]);
    expect(dry.code).toBe(0);
    expect(await snapshotDatabase(e.mas.client)).toEqual(empty);
    await stage(e);
    const staged = await snapshotDatabase(e.mas.client);
    const stagedRecord = await stageRecord(e);
    await e.synapse.client.query(CHURN);
    const dryCut = await run(['syn2mas', 'migrate', '--dry-run', '--json', ...e.args('main')]);
    expect(dryCut.code).toBe(0);
    expect((JSON.parse(dryCut.stdout) as { delta: DeltaReport }).delta.users.changed).toBeGreaterThan(0);
    expect(await snapshotDatabase(e.mas.client)).toEqual(staged);
    expect(await stageRecord(e)).toEqual(stagedRecord);
  });

  it('refuses to continue a stage from another Synapse, with another provider mapping, or on a MAS that has been used', async () => {
    const e = await env();
    await stage(e);
    const other = await env();
    // Another Synapse (its own database, another first user) against this MAS database.
    await other.synapse.client.query(`UPDATE users SET creation_ts = creation_ts - 1 WHERE name = '@alice:example.com'`);
    const wrong = await run(['syn2mas', 'migrate', '--json', ...e.args('other', { synapseUrl: other.synapse.url })]);
    expect(wrong.code).toBe(10);
    expect((JSON.parse(wrong.stdout) as { findings: Array<{ code: string }> }).findings.map((f) => f.code)).toContain('E_STAGE_OTHER_SYNAPSE');
    const human = await run(['syn2mas', 'check', ...e.args('other', { synapseUrl: other.synapse.url })]);
    expect(human.code).toBe(10);
    expect(human.stdout).toContain('E_STAGE_OTHER_SYNAPSE');
    expect(human.stdout).toContain('fix:');

    // A stage made when oidc-raasu was mapped to another MAS provider.
    const record = await stageRecord(e);
    const elsewhere = { ...record, providerMapping: { 'oidc-raasu': '01J9Q8R5GH6W3T0N4K2M7PB1XA' } };
    await e.mas.client.query(`UPDATE mas_tool_stage.stage SET record = $1::jsonb`, [JSON.stringify(elsewhere)]);
    const mapped = await run(['syn2mas', 'migrate', '--json', ...e.args('main')]);
    expect(mapped.code).toBe(10);
    const finding = (JSON.parse(mapped.stdout) as { findings: Array<{ code: string; message: string }> }).findings.find((f) => f.code === 'E_STAGE_PROVIDER_MAPPING');
    expect(finding?.message).toBe(`The stage was made with another SSO provider mapping: staged oidc-raasu:01J9Q8R5GH6W3T0N4K2M7PB1XA, now oidc-raasu:${PROVIDER_ULID}.`);
    await e.mas.client.query(`UPDATE mas_tool_stage.stage SET record = $1::jsonb`, [JSON.stringify(record)]);

    // MAS served the database for a moment: a browser session appeared.
    const { rows } = await e.mas.client.query<{ user_id: string }>(`SELECT user_id FROM users WHERE username = 'alice'`);
    await e.mas.client.query(`INSERT INTO user_sessions (user_session_id, user_id, created_at) VALUES (gen_random_uuid(), $1, now())`, [rows[0]?.user_id]);
    const used = await run(['syn2mas', 'migrate', '--json', ...e.args('main')]);
    expect(used.code).toBe(10);
    expect((JSON.parse(used.stdout) as { findings: Array<{ code: string }> }).findings.map((f) => f.code)).toContain('E_STAGE_MAS_IN_USE');
  });

  it('check reports the stage, and a stale one with the fix', async () => {
    const e = await env();
    await stage(e);
    const fresh = await run(['syn2mas', 'check', '--json', ...e.args('main')]);
    const codes = (r: typeof fresh) => (JSON.parse(r.stdout) as { findings: Array<{ code: string }> }).findings.map((f) => f.code);
    expect(codes(fresh)).toContain('I_STAGE_PRESENT');
    expect(codes(fresh)).not.toContain('E_MAS_NOT_EMPTY');
    await e.mas.client.query(`UPDATE mas_tool_stage.stage SET record = jsonb_set(record, '{stagedAt}', to_jsonb('2020-01-01T00:00:00.000Z'::text))`);
    const stale = await run(['syn2mas', 'check', '--json', ...e.args('main')]);
    expect(codes(stale)).toContain('W_STAGE_STALE');
  });

  it('a kill during the cut-over leaves the stage intact, and a rerun completes it', async () => {
    const e = await env();
    await stage(e);
    const record = await stageRecord(e);
    await e.synapse.client.query(CHURN);
    // Slow the cut-over's writes of sessions so that the kill lands inside its transaction.
    await e.mas.client.query(`
      CREATE FUNCTION test_slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(2); RETURN NEW; END $$;
      CREATE TRIGGER test_slow BEFORE INSERT ON compat_sessions FOR EACH ROW EXECUTE FUNCTION test_slow_insert();`);
    const stageDigest = async () =>
      (await e.mas.client.query<{ d: string }>(`SELECT md5(string_agg(u::text, '|' ORDER BY u.name)) || (SELECT record::text FROM mas_tool_stage.stage) AS d FROM mas_tool_stage.users u`)).rows[0]?.d;
    const before = { mas: await masRows(e.mas.client), stage: await stageDigest() };
    const watcher = new pg.Client({ connectionString: e.mas.url });
    await watcher.connect();
    try {
      const child = spawn(process.execPath, [BIN, 'syn2mas', 'migrate', ...e.args('main')], { stdio: 'ignore' });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_c, signal) => resolve(signal)));
      const deadline = Date.now() + 60_000;
      for (;;) {
        const { rows } = await watcher.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'INSERT INTO compat_sessions%' AND state = 'active'`, [e.mas.name]);
        if (rows.length > 0) break;
        if (Date.now() > deadline) throw new Error('the cut-over never reached its session inserts');
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      // The server ends the orphaned statement (its sleep) and rolls back.
      await watcher.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'mas-tool'`, [e.mas.name]);
      for (;;) {
        const { rows } = await watcher.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'mas-tool'`, [e.mas.name]);
        if (rows.length === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await watcher.end();
    }
    expect({ mas: await masRows(e.mas.client), stage: await stageDigest() }).toEqual(before);
    await e.mas.client.query('DROP TRIGGER test_slow ON compat_sessions');
    await cutover(e);
    expect(await masRows(e.mas.client)).toEqual(await fullMigration(e, record));
  });
});
