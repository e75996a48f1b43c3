// Addresses, upstream links and sessions through the admin API backend, against the fake MAS admin
// API: what each read finds, what each write changes, and which jobs MAS schedules for it (the same
// ones the database backend writes itself).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManageBackend } from '../../../src/manage/backend.js';
import { apiEnv, expectError, type ApiEnv } from './env.js';

let env: ApiEnv;
let backend: ManageBackend;

beforeEach(async () => {
  env = await apiEnv();
  backend = await env.open();
});
afterEach(async () => {
  await env.close();
});

describe('emails', () => {
  it("finds a user's addresses and anyone holding an address, case-insensitively, once each", async () => {
    const alice = env.fake.addUser('alice');
    const bob = env.fake.addUser('bob');
    const a1 = env.fake.addEmail(alice.id, 'alice@example.com');
    const a2 = env.fake.addEmail(alice.id, 'a@work.example');
    const b1 = env.fake.addEmail(bob.id, 'Bob@Example.com');
    const found = await backend.findEmails({ userIds: [alice.id], emails: ['bob@example.COM', 'ALICE@example.com', 'nobody@example.com'] });
    expect(found.map((e) => e.id).sort()).toEqual([a1.id, a2.id, b1.id].sort());
    expect(found.find((e) => e.id === b1.id)).toEqual({ id: b1.id, userId: bob.id, email: 'Bob@Example.com' });
    expect(await backend.findEmails({})).toEqual([]);
  });

  it('finds every address of a user across pages', async () => {
    env.fake.settings.maxPageSize = 10;
    const alice = env.fake.addUser('alice');
    for (let i = 0; i < 23; i++) env.fake.addEmail(alice.id, `alice${i}@example.com`);
    expect(await backend.findEmails({ userIds: [alice.id] })).toHaveLength(23);
  });

  it('adds and removes addresses, MAS scheduling provision-user for each', async () => {
    const alice = env.fake.addUser('alice');
    await backend.addEmails([
      { userId: alice.id, email: 'alice@example.com' },
      { userId: alice.id, email: 'alice@work.example' },
    ]);
    const emails = await backend.findEmails({ userIds: [alice.id] });
    expect(emails.map((e) => e.email).sort()).toEqual(['alice@example.com', 'alice@work.example']);
    await backend.removeEmails(emails.filter((e) => e.email === 'alice@example.com'));
    expect([...env.fake.emails.values()].map((e) => e.email)).toEqual(['alice@work.example']);
    expect(env.fake.jobs).toEqual([
      { name: 'provision-user', userId: alice.id },
      { name: 'provision-user', userId: alice.id },
      { name: 'provision-user', userId: alice.id },
    ]);
    expect(env.fake.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual([`/api/admin/v1/user-emails/${emails.find((e) => e.email === 'alice@example.com')!.id}`]);
  });

  it('relays an address in use by another user, and an invalid one', async () => {
    const alice = env.fake.addUser('alice');
    const bob = env.fake.addUser('bob');
    env.fake.addEmail(alice.id, 'shared@example.com');
    await backend.findUsers([{ input: 'bob', username: 'bob' }]);
    const taken = await expectError(() => backend.addEmails([{ userId: bob.id, email: 'SHARED@example.com' }]), env.fake);
    expect(taken.code).toBe('MAS_TOOL_ADMIN_API_CONFLICT');
    expect(taken.message).toBe('MAS refused adding SHARED@example.com to user bob (409: User email "SHARED@example.com" already in use).');
    expect(taken.hint).toContain('one user only');
    const invalid = await expectError(() => backend.addEmails([{ userId: bob.id, email: 'not an address' }]), env.fake);
    expect(invalid.message).toBe('MAS refused adding not an address to user bob (400: Email "not an address" is not valid: Missing domain or user).');
    expect(env.fake.jobs).toEqual([]);
  });
});

describe('upstream links', () => {
  it('lists the providers, enabled or not, with a label', async () => {
    const corp = env.fake.addProvider({ humanName: 'Corp SSO' });
    const old = env.fake.addProvider({ issuer: 'https://old.example.com/', disabledAt: new Date().toISOString() });
    expect(await backend.listProviders()).toEqual([
      { id: corp.id, enabled: true, label: 'Corp SSO' },
      { id: old.id, enabled: false, label: 'https://old.example.com/' },
    ]);
  });

  it('finds links by (provider, subject) and by user; an unknown provider has none', async () => {
    const alice = env.fake.addUser('alice');
    const provider = env.fake.addProvider();
    const other = env.fake.addProvider();
    const byAlice = env.fake.addLink(provider.id, 'sub-alice', alice.id, 'alice@corp');
    const orphan = env.fake.addLink(provider.id, 'sub-orphan', null);
    env.fake.addLink(other.id, 'sub-orphan', null);
    const found = await backend.findLinks({
      pairs: [
        { providerId: provider.id, subject: 'sub-orphan' },
        { providerId: '01J00000000000000000000000', subject: 'sub-alice' },
      ],
      userIds: [alice.id],
    });
    expect(found).toEqual([
      { id: orphan.id, providerId: provider.id, subject: 'sub-orphan', userId: null, humanAccountName: null },
      { id: byAlice.id, providerId: provider.id, subject: 'sub-alice', userId: alice.id, humanAccountName: 'alice@corp' },
    ]);
  });

  it('adds links (attaching an orphan), and removes them', async () => {
    const alice = env.fake.addUser('alice');
    const bob = env.fake.addUser('bob');
    const provider = env.fake.addProvider();
    const orphan = env.fake.addLink(provider.id, 'sub-bob', null);
    await backend.addLinks([
      { userId: alice.id, providerId: provider.id, subject: 'sub-alice' },
      { userId: bob.id, providerId: provider.id, subject: 'sub-bob', orphanLinkId: orphan.id },
    ]);
    expect(env.fake.links.size).toBe(2);
    expect(env.fake.links.get(orphan.id)?.userId).toBe(bob.id);
    const links = await backend.findLinks({ userIds: [alice.id] });
    expect(links.map((l) => l.subject)).toEqual(['sub-alice']);
    await backend.removeLinks(links);
    expect([...env.fake.links.values()].map((l) => l.subject)).toEqual(['sub-bob']);
    expect(env.fake.jobs).toEqual([]);
  });

  it('relays a subject linked to someone else', async () => {
    const alice = env.fake.addUser('alice');
    const bob = env.fake.addUser('bob');
    const provider = env.fake.addProvider();
    env.fake.addLink(provider.id, 'sub-x', alice.id);
    const error = await expectError(() => backend.addLinks([{ userId: bob.id, providerId: provider.id, subject: 'sub-x' }]), env.fake);
    expect(error.code).toBe('MAS_TOOL_ADMIN_API_CONFLICT');
    expect(error.message).toContain(`(409: Upstream Oauth 2.0 Provider ID ${provider.id} with subject sub-x is already linked to a user)`);
  });
});

describe('sessions', () => {
  it('lists the active sessions of each kind, across pages', async () => {
    env.fake.settings.maxPageSize = 10;
    const alice = env.fake.addUser('alice');
    const bob = env.fake.addUser('bob');
    const compat = Array.from({ length: 12 }, () => env.fake.addSession('compat', alice.id).id);
    env.fake.addSession('compat', alice.id, true);
    const oauth2 = [env.fake.addSession('oauth2', alice.id).id];
    const browser = [env.fake.addSession('user', alice.id).id];
    env.fake.addSession('user', bob.id);
    expect(await backend.activeSessions(alice.id)).toEqual({ compat, oauth2, browser });
    expect(env.fake.requests.filter((r) => r.path.endsWith('/compat-sessions')).every((r) => r.query['filter[status]'] === 'active' && r.query['filter[user]'] === alice.id)).toBe(true);
  });

  it('finishes sessions, MAS scheduling sync-devices for devices, and accepts one already finished', async () => {
    const alice = env.fake.addUser('alice');
    const c = env.fake.addSession('compat', alice.id);
    const o = env.fake.addSession('oauth2', alice.id);
    const u = env.fake.addSession('user', alice.id);
    const sessions = await backend.activeSessions(alice.id);
    // Someone ends one in between.
    env.fake.sessions.get(o.id)!.finishedAt = new Date().toISOString();
    await backend.finishSessions(alice.id, sessions);
    expect([c, o, u].every((s) => env.fake.sessions.get(s.id)?.finishedAt !== null)).toBe(true);
    expect(env.fake.jobs).toEqual([{ name: 'sync-devices', userId: alice.id }]);
    expect(await backend.activeSessions(alice.id)).toEqual({ compat: [], oauth2: [], browser: [] });
  });

  it('says the route is missing on a MAS before 1.4', async () => {
    env.fake.settings.old = true;
    const alice = env.fake.addUser('alice');
    const c = env.fake.addSession('compat', alice.id);
    const error = await expectError(() => backend.finishSessions(alice.id, { compat: [c.id], oauth2: [], browser: [] }), env.fake);
    expect(error.code).toBe('MAS_TOOL_ADMIN_API_UNSUPPORTED');
    expect(error.message).toBe(`This MAS has no admin API route POST /api/admin/v1/compat-sessions/${c.id}/finish (404 while ending the compatibility session ${c.id} of user ${alice.id}): it was added in MAS 1.4.`);
    expect(error.hint).toContain('--via db');
  });
});

describe('the fake follows the documented pagination', () => {
  it('honours page[first], refuses page[first] with page[last], and gives count and cursors', async () => {
    for (let i = 0; i < 5; i++) env.fake.addUser(`user${i}`);
    const token = env.fake.tokens[0]!;
    const get = async (query: string) => {
      const res = await fetch(`${env.fake.url}api/admin/v1/users?${query}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: (await res.json()) as { meta?: { count: number }; data?: Array<{ id: string; meta?: unknown }>; links: Record<string, string>; errors?: unknown } };
    };
    const page = await get('page[first]=3');
    expect(page.body.data).toHaveLength(3);
    expect(page.body.meta).toEqual({ count: 5 });
    expect(page.body.data?.[2]?.meta).toEqual({ page: { cursor: page.body.data?.[2]?.id } });
    expect(page.body.links.next).toBe(`/api/admin/v1/users?page[after]=${page.body.data?.[2]?.id}&page[first]=3`);
    const both = await get('page[first]=3&page[last]=3');
    expect(both.status).toBe(400);
    expect(both.body.errors).toBeDefined();
    expect((await get('count=false')).body.meta).toBeUndefined();
    env.fake.settings.old = true;
    const old = await get('count=false');
    expect(old.body.meta).toEqual({ count: 5 });
    expect(old.body.data?.[0]?.meta).toBeUndefined();
  });
});
