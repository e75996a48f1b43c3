// list-users and show-user reads on the MAS database: filters that combine, a search over usernames
// and addresses (LIKE wildcards taken literally), counts of active sessions, and a user's sessions
// with device, last activity, IP and Synapse admin rights.
import { describe, expect, it } from 'vitest';
import { newUlid } from '../../../src/manage/db/ids.js';
import { useTestDatabase } from '../../helpers/db.js';
import { backendFor, cleanBetweenTests, seedUser, uuid } from './helpers.js';

const db = useTestDatabase('mas');
cleanBetweenTests(db);

async function email(userId: string, address: string): Promise<void> {
  await db.client.query('INSERT INTO user_emails (user_email_id, user_id, email, created_at) VALUES ($1, $2, $3, now())', [uuid(newUlid()), uuid(userId), address]);
}

async function client(): Promise<string> {
  const id = newUlid();
  await db.client.query(
    `INSERT INTO oauth2_clients (oauth2_client_id, grant_type_authorization_code, grant_type_refresh_token, client_name, created_at) VALUES ($1, true, true, 'Element X', now())`,
    [uuid(id)],
  );
  return id;
}

describe('listUsers (database)', () => {
  it('combines the filters, orders by id, and says when more match than the limit', async () => {
    const alice = await seedUser(db.client, 'alice', { admin: true });
    await seedUser(db.client, 'bob', { locked: true });
    await seedUser(db.client, 'carol', { locked: true, deactivated: true });
    await seedUser(db.client, 'dave', { admin: true, locked: true });
    const backend = await backendFor(db);
    expect((await backend.listUsers({ locked: true }, 10)).users.map((u) => u.username)).toEqual(['bob', 'carol', 'dave']);
    expect((await backend.listUsers({ locked: true, admin: true }, 10)).users.map((u) => u.username)).toEqual(['dave']);
    expect((await backend.listUsers({ deactivated: true }, 10)).users.map((u) => u.username)).toEqual(['carol']);
    const page = await backend.listUsers({}, 2);
    expect(page).toMatchObject({ more: true, total: 4 });
    expect(page.users.map((u) => u.username)).toEqual(['alice', 'bob']);
    expect(page.users[0]).toMatchObject({ id: alice.id, admin: true, guest: false, lockedAt: null, emails: [], activeSessions: { compat: 0, oauth2: 0, browser: 0 } });
  });

  it('finds users by part of the username or of an address, any case, with % and _ taken literally', async () => {
    const alice = await seedUser(db.client, 'alice');
    const bob = await seedUser(db.client, 'bob');
    await seedUser(db.client, 'under_score');
    await seedUser(db.client, 'underXscore');
    await email(alice.id, 'Alice@Example.org');
    await email(bob.id, 'bob@corp.example.com');
    await email(bob.id, 'b@home.example');
    const backend = await backendFor(db);
    expect((await backend.listUsers({ search: 'EXAMPLE.ORG' }, 10)).users.map((u) => u.username)).toEqual(['alice']);
    expect((await backend.listUsers({ search: 'li' }, 10)).users.map((u) => u.username)).toEqual(['alice']);
    expect((await backend.listUsers({ search: 'er_s' }, 10)).users.map((u) => u.username)).toEqual(['under_score']);
    expect((await backend.listUsers({ search: '%' }, 10)).users).toEqual([]);
    const [b] = (await backend.listUsers({ search: 'corp' }, 10)).users;
    expect(b?.emails).toEqual(['b@home.example', 'bob@corp.example.com']);
  });

  it('finds guests and counts active sessions only', async () => {
    const alice = await seedUser(db.client, 'alice');
    const guest = await seedUser(db.client, 'guest1');
    await db.client.query('UPDATE users SET is_guest = true WHERE user_id = $1', [uuid(guest.id)]);
    for (const finished of [null, null, new Date()]) {
      await db.client.query('INSERT INTO compat_sessions (compat_session_id, user_id, device_id, created_at, finished_at) VALUES ($1, $2, $3, now(), $4)', [uuid(newUlid()), uuid(alice.id), `D${newUlid().slice(-6)}`, finished]);
    }
    await db.client.query('INSERT INTO user_sessions (user_session_id, user_id, created_at) VALUES ($1, $2, now())', [uuid(newUlid()), uuid(alice.id)]);
    const backend = await backendFor(db);
    expect((await backend.listUsers({ guest: true }, 10)).users.map((u) => u.username)).toEqual(['guest1']);
    expect((await backend.listUsers({ search: 'alice' }, 10)).users[0]?.activeSessions).toEqual({ compat: 2, oauth2: 0, browser: 1 });
  });
});

describe('userSessions (database)', () => {
  it('gives each kind with device, last activity, IP and Synapse admin rights, last seen first', async () => {
    const alice = await seedUser(db.client, 'alice');
    const c = await client();
    await db.client.query(
      `INSERT INTO compat_sessions (compat_session_id, user_id, device_id, created_at, is_synapse_admin, last_active_at, last_active_ip, user_agent)
       VALUES ($1, $2, 'COMPATDEV', now() - interval '2 days', true, '2026-11-19T08:00:00Z', '10.0.0.7', 'curl/8')`,
      [uuid(newUlid()), uuid(alice.id)],
    );
    await db.client.query(
      `INSERT INTO oauth2_sessions (oauth2_session_id, oauth2_client_id, user_id, created_at, scope_list, last_active_at, last_active_ip)
       VALUES ($1, $2, $3, now() - interval '1 day', $4, '2026-11-20T09:00:00Z', '2001:db8::1')`,
      [uuid(newUlid()), uuid(c), uuid(alice.id), ['openid', 'urn:matrix:org.matrix.msc2967.client:device:OAUTHDEV', 'urn:matrix:client:api:*']],
    );
    await db.client.query(`INSERT INTO user_sessions (user_session_id, user_id, created_at, finished_at) VALUES ($1, $2, now(), now())`, [uuid(newUlid()), uuid(alice.id)]);
    const backend = await backendFor(db);
    const active = await backend.userSessions(alice.id, { includeFinished: false });
    expect(active.map((s) => [s.kind, s.deviceId, s.lastActiveIp, s.synapseAdmin])).toEqual([
      ['oauth2', 'OAUTHDEV', '2001:db8::1', false],
      ['compat', 'COMPATDEV', '10.0.0.7', true],
    ]);
    expect(active[0]).toMatchObject({ clientId: c, clientName: 'Element X', lastActiveAt: '2026-11-20T09:00:00.000Z' });
    expect(active[1]).toMatchObject({ userAgent: 'curl/8', finishedAt: null });
    const all = await backend.userSessions(alice.id, { includeFinished: true });
    expect(all.map((s) => s.kind).sort()).toEqual(['browser', 'compat', 'oauth2']);
  });
});
