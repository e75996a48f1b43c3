// list-users and show-user reads over the admin API against the fake MAS: server-side filters,
// pages followed until the limit, a search that also matches part of an address, session counts
// with count=only, and a user's sessions of every kind.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManageBackend } from '../../../src/manage/backend.js';
import { apiEnv, type ApiEnv } from './env.js';

let env: ApiEnv;
let backend: ManageBackend;

/** The admin API requests to a collection, with their query parameters. */
const queries = (path: string) => env.fake.requests.filter((r) => r.path.endsWith(`/api/admin/v1/${path}`)).map((r) => r.query);

beforeEach(async () => {
  env = await apiEnv();
  backend = await env.open();
});
afterEach(async () => {
  await env.close();
});

describe('listUsers (admin API)', () => {
  it('sends the filters MAS has and checks the flags again, oldest first', async () => {
    env.fake.addUser('alice', { admin: true });
    env.fake.addUser('bob', { lockedAt: '2026-01-01T00:00:00.000Z' });
    env.fake.addUser('carol', { deactivatedAt: '2026-01-02T00:00:00.000Z', lockedAt: '2026-01-02T00:00:00.000Z' });
    env.fake.addUser('gus', { legacyGuest: true });
    expect((await backend.listUsers({ admin: true }, 10)).users.map((u) => u.username)).toEqual(['alice']);
    expect(queries('users')[0]).toEqual({ 'filter[admin]': 'true', 'page[first]': '100' });
    expect((await backend.listUsers({ locked: true }, 10)).users.map((u) => u.username)).toEqual(['bob', 'carol']);
    expect((await backend.listUsers({ locked: true, deactivated: true }, 10)).users.map((u) => u.username)).toEqual(['carol']);
    expect((await backend.listUsers({ guest: true }, 10)).users.map((u) => ({ name: u.username, guest: u.guest }))).toEqual([{ name: 'gus', guest: true }]);
  });

  it('follows pages only until it has one more than the limit, and gives the total MAS counted', async () => {
    env.fake.settings.maxPageSize = 3;
    for (let i = 0; i < 10; i++) env.fake.addUser(`user${i}`);
    const page = await backend.listUsers({}, 4);
    expect(page.users.map((u) => u.username)).toEqual(['user0', 'user1', 'user2', 'user3']);
    expect(page).toMatchObject({ more: true, total: 10 });
    expect(queries('users')).toHaveLength(2);
  });

  it('searches usernames on the server and addresses by paging through them, any case', async () => {
    const alice = env.fake.addUser('alice');
    const bob = env.fake.addUser('bob');
    env.fake.addUser('malice');
    env.fake.addEmail(bob.id, 'Bob@Alice-Corp.example');
    env.fake.addEmail(alice.id, 'alice@example.org');
    const found = await backend.listUsers({ search: 'ALICE' }, 10);
    expect(found.users.map((u) => u.username)).toEqual(['alice', 'bob', 'malice']);
    expect(found.users[1]?.emails).toEqual(['Bob@Alice-Corp.example']);
    expect(found.more).toBe(false);
  });

  it('counts active sessions by kind with count=only', async () => {
    const alice = env.fake.addUser('alice');
    env.fake.addSession('compat', alice.id);
    env.fake.addSession('compat', alice.id, true);
    env.fake.addSession('oauth2', alice.id);
    env.fake.addSession('user', alice.id);
    const [u] = (await backend.listUsers({}, 10)).users;
    expect(u?.activeSessions).toEqual({ compat: 1, oauth2: 1, browser: 1 });
    expect(queries('compat-sessions')).toEqual([{ 'filter[user]': alice.id, 'filter[status]': 'active', count: 'only', 'page[first]': '1' }]);
  });
});

describe('userSessions (admin API)', () => {
  it('gives the device from a compat session and from an OAuth 2.0 scope, and the admin scope', async () => {
    const alice = env.fake.addUser('alice');
    const compat = env.fake.addSession('compat', alice.id);
    const oauth = env.fake.addSession('oauth2', alice.id);
    env.fake.addSession('user', alice.id, true);
    const active = await backend.userSessions(alice.id, { includeFinished: false });
    expect(active.map((s) => s.kind).sort()).toEqual(['compat', 'oauth2']);
    expect(active.find((s) => s.kind === 'compat')).toMatchObject({ id: compat.id, deviceId: compat.deviceId, synapseAdmin: null, lastActiveIp: '127.0.0.1' });
    expect(active.find((s) => s.kind === 'oauth2')).toMatchObject({ id: oauth.id, deviceId: oauth.deviceId, synapseAdmin: false, clientId: '01FAKEC11ENT0000000000000C' });
    expect(await backend.userSessions(alice.id, { includeFinished: true })).toHaveLength(3);
  });
});
