// Where mas-tool deliberately differs from mas-cli's syn2mas: rows that make mas-cli abort (orphan
// rows, rows of an appservice user with ':' in the localpart) or break at the end (tokens on hidden
// or guest_device devices) are skipped and counted by reason, and the migration completes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';
import { createSyn2masEnv, type Syn2masEnv } from '../helpers/syn2mas-env.js';

let e: Syn2masEnv;
let doc: { migration: { entities: Record<string, { migrated: number; skipped: Record<string, number> }> } };

beforeAll(async () => {
  e = await createSyn2masEnv({ fixtures: [] });
  await e.synapse.client.query(`
    INSERT INTO users (name, password_hash, creation_ts, admin, is_guest, appservice_id, deactivated, locked) VALUES
      ('@ann:example.com', NULL, 1600000000, 0, 0, NULL, 0, false),
      ('@telegram_1:2:example.com', NULL, 1600000001, 0, 0, 'telegram', 0, false);
    -- orphans: rows of @ghost, who has no users row
    INSERT INTO user_threepids VALUES ('@ghost:example.com', 'email', 'ghost@example.org', 1, 1600000000000);
    INSERT INTO devices (user_id, device_id, display_name, hidden) VALUES ('@ghost:example.com', 'GHOSTDEV', 'x', false);
    INSERT INTO access_tokens (id, user_id, device_id, token) VALUES (1, '@ghost:example.com', 'GHOSTDEV', 'syt_Z2hvc3Q_orphanorphanorphanorp_000001');
    -- an appservice user with ':' in the localpart, with a device and a token
    INSERT INTO devices (user_id, device_id, display_name, hidden) VALUES ('@telegram_1:2:example.com', 'TGDEV', 'bridge', false);
    INSERT INTO access_tokens (id, user_id, device_id, token) VALUES (2, '@telegram_1:2:example.com', 'TGDEV', 'syt_dGVsZWdyYW0_bridgebridgebridgebr_000002');
    -- tokens on a hidden (cross-signing) device row and on 'guest_device'
    INSERT INTO devices (user_id, device_id, display_name, hidden) VALUES
      ('@ann:example.com', 'MASTERKEY', 'master signing key', true),
      ('@ann:example.com', 'guest_device', NULL, false),
      ('@ann:example.com', 'ANNPHONE', 'Phone', false);
    INSERT INTO access_tokens (id, user_id, device_id, token) VALUES
      (3, '@ann:example.com', 'MASTERKEY', 'syt_YW5u_hiddenhiddenhiddenhidd_000003'),
      (4, '@ann:example.com', 'guest_device', 'syt_YW5u_guestguestguestguestgu_000004'),
      (5, '@ann:example.com', 'ANNPHONE', 'syt_YW5u_phonephonephonephoneph_000005');`);
  const r = await run(['syn2mas', 'migrate', '--json', ...e.args('diff')]);
  expect(r.stderr).not.toContain('error:');
  expect(r.code).toBe(0);
  doc = JSON.parse(r.stdout);
});
afterAll(async () => {
  await e?.drop();
});

describe('rows mas-cli aborts or breaks on', () => {
  it('skips orphan rows and counts them', () => {
    expect(doc.migration.entities.emails?.skipped).toMatchObject({ orphan: 1 });
    expect(doc.migration.entities.devices?.skipped).toMatchObject({ orphan: 1 });
    expect(doc.migration.entities.accessTokens?.skipped).toMatchObject({ orphan: 1 });
  });

  it('skips an appservice user with ":" in the localpart, with all their rows', () => {
    expect(doc.migration.entities.users?.skipped).toEqual({ appservice_invalid_localpart: 1 });
    expect(doc.migration.entities.devices?.skipped).toMatchObject({ appservice_invalid_localpart: 1 });
    expect(doc.migration.entities.accessTokens?.skipped).toMatchObject({ appservice_invalid_localpart: 1 });
  });

  it('skips tokens on hidden and guest_device devices, and keeps the rest of the user', async () => {
    expect(doc.migration.entities.accessTokens).toEqual({ migrated: 1, skipped: { orphan: 1, appservice_invalid_localpart: 1, hidden_device: 2 } });
    const tokens = await e.mas.client.query<{ device_id: string }>(
      `SELECT s.device_id FROM compat_access_tokens t JOIN compat_sessions s USING (compat_session_id)`,
    );
    expect(tokens.rows).toEqual([{ device_id: 'ANNPHONE' }]);
    const users = await e.mas.client.query<{ username: string }>('SELECT username FROM users');
    expect(users.rows).toEqual([{ username: 'ann' }]);
  });
});
