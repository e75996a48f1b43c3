// Sessions and compatibility tokens through the database backend.
import { describe, expect, it } from 'vitest';
import { isWellFormedCompatAccessToken } from '../../../src/manage/compat-token.js';
import { newUlid } from '../../../src/manage/db/ids.js';
import { Secret, scrubSecrets } from '../../../src/secret.js';
import { useTestDatabase } from '../../helpers/db.js';
import { backendFor, cleanBetweenTests, jobs, seedUser, uuid } from './helpers.js';

const db = useTestDatabase('mas');
cleanBetweenTests(db);

async function seedSessions(userId: string, finished: boolean) {
  const at = finished ? new Date() : null;
  const compat = newUlid();
  const browser = newUlid();
  const oauth2 = newUlid();
  const client = newUlid();
  await db.client.query(`INSERT INTO compat_sessions (compat_session_id, user_id, device_id, created_at, finished_at) VALUES ($1, $2, $3, now(), $4)`, [
    uuid(compat),
    uuid(userId),
    `DEV${compat.slice(-6)}`,
    at,
  ]);
  await db.client.query(`INSERT INTO user_sessions (user_session_id, user_id, created_at, finished_at) VALUES ($1, $2, now(), $3)`, [uuid(browser), uuid(userId), at]);
  await db.client.query(
    `INSERT INTO oauth2_clients (oauth2_client_id, grant_type_authorization_code, grant_type_refresh_token) VALUES ($1, true, true)`,
    [uuid(client)],
  );
  await db.client.query(
    `INSERT INTO oauth2_sessions (oauth2_session_id, oauth2_client_id, user_id, created_at, finished_at, scope_list) VALUES ($1, $2, $3, now(), $4, '{openid}')`,
    [uuid(oauth2), uuid(client), uuid(userId), at],
  );
  return { compat: [compat], oauth2: [oauth2], browser: [browser] };
}

describe('sessions', () => {
  it('lists only the active sessions of each kind', async () => {
    const a = await seedUser(db.client, 'a');
    const b = await seedUser(db.client, 'b');
    const active = await seedSessions(a.id, false);
    await seedSessions(a.id, true);
    await seedSessions(b.id, false);
    const backend = await backendFor(db);
    expect(await backend.activeSessions(a.id)).toEqual(active);
  });

  it('finishes them and schedules sync-devices', async () => {
    const a = await seedUser(db.client, 'a');
    const active = await seedSessions(a.id, false);
    const backend = await backendFor(db);
    await backend.finishSessions(a.id, active);
    expect(await backend.activeSessions(a.id)).toEqual({ compat: [], oauth2: [], browser: [] });
    const { rows } = await db.client.query(
      `SELECT (SELECT count(*)::int FROM compat_sessions WHERE finished_at IS NOT NULL) AS compat,
              (SELECT count(*)::int FROM oauth2_sessions WHERE finished_at IS NOT NULL) AS oauth2,
              (SELECT count(*)::int FROM user_sessions WHERE finished_at IS NOT NULL) AS browser`,
    );
    expect(rows).toEqual([{ compat: 1, oauth2: 1, browser: 1 }]);
    expect(await jobs(db.client)).toEqual([{ queue_name: 'sync-devices', payload: { user_id: a.id }, metadata: {}, status: 'available' }]);
  });

  it("does not finish another user's session passed by mistake", async () => {
    const a = await seedUser(db.client, 'a');
    const b = await seedUser(db.client, 'b');
    const ofB = await seedSessions(b.id, false);
    const backend = await backendFor(db);
    await backend.finishSessions(a.id, ofB);
    expect(await backend.activeSessions(b.id)).toEqual(ofB);
  });

  it('schedules sync-devices on its own', async () => {
    const a = await seedUser(db.client, 'a');
    const backend = await backendFor(db);
    await backend.scheduleSyncDevices(a.id);
    expect(await jobs(db.client)).toEqual([{ queue_name: 'sync-devices', payload: { user_id: a.id }, metadata: {}, status: 'available' }]);
  });
});

describe('issueCompatToken', () => {
  it('writes a compat session and a never-expiring token MAS accepts, returned as a Secret', async () => {
    const a = await seedUser(db.client, 'a');
    const backend = await backendFor(db);
    const { token, sessionId } = await backend.issueCompatToken(a.id, 'MYDEVICE', true);
    expect(token).toBeInstanceOf(Secret);
    expect(String(token)).toBe('[redacted]');
    expect(isWellFormedCompatAccessToken(token.reveal())).toBe(true);
    expect(scrubSecrets(`token ${token.reveal()}`)).toBe('token [redacted]');

    const { rows: sessions } = await db.client.query(
      'SELECT compat_session_id, user_id, device_id, user_session_id, is_synapse_admin, human_name, finished_at FROM compat_sessions',
    );
    expect(sessions).toEqual([
      { compat_session_id: uuid(sessionId), user_id: uuid(a.id), device_id: 'MYDEVICE', user_session_id: null, is_synapse_admin: true, human_name: null, finished_at: null },
    ]);
    const { rows: tokens } = await db.client.query('SELECT compat_session_id, access_token, expires_at FROM compat_access_tokens');
    expect(tokens).toEqual([{ compat_session_id: uuid(sessionId), access_token: token.reveal(), expires_at: null }]);
    expect(await jobs(db.client)).toEqual([]);
  });

  it('refuses an id that is no user', async () => {
    const backend = await backendFor(db);
    await expect(backend.issueCompatToken(newUlid(), 'DEV', false)).rejects.toMatchObject({ code: 'MAS_TOOL_USER_NOT_FOUND' });
    expect((await db.client.query('SELECT 1 FROM compat_sessions')).rows).toEqual([]);
  });
});
