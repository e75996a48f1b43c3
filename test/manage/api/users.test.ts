// The user primitives of the admin API backend against the fake MAS admin API: lookups (by id, by
// username case-insensitively, with a "did you mean"), the admin list across pages, user creation
// with everything that comes with it, and the state changes, each with the job MAS would schedule.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManageBackend } from '../../../src/manage/backend.js';
import type { NewUser } from '../../../src/manage/model.js';
import { Secret } from '../../../src/secret.js';
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

const newUser = (username: string, extra: Partial<NewUser> = {}): NewUser => ({ username, skipHomeserverCheck: false, admin: false, emails: [], upstream: [], ...extra });

describe('findUsers', () => {
  it('finds users by username case-insensitively and by id, and leaves the missing ones out', async () => {
    const alice = env.fake.addUser('alice');
    const bob = env.fake.addUser('bob');
    const found = await backend.findUsers([
      { input: '@Alice:example.com', username: 'Alice' },
      { input: bob.id, username: bob.id, id: bob.id },
      { input: 'carol', username: 'carol' },
    ]);
    expect(found.get('@Alice:example.com')).toMatchObject({ id: alice.id, username: 'alice', admin: false, lockedAt: null, deactivatedAt: null });
    expect(found.get(bob.id)?.username).toBe('bob');
    expect(found.has('carol')).toBe(false);
  });

  it('falls back to the username when no user has that id', async () => {
    // A username that looks like a ULID.
    const odd = env.fake.addUser('01hzzzzzzzzzzzzzzzzzzzzzzz');
    const found = await backend.findUsers([{ input: '01HZZZZZZZZZZZZZZZZZZZZZZZ', username: '01hzzzzzzzzzzzzzzzzzzzzzzz', id: '01HZZZZZZZZZZZZZZZZZZZZZZZ' }]);
    expect(found.get('01HZZZZZZZZZZZZZZZZZZZZZZZ')?.id).toBe(odd.id);
    expect(env.fake.apiCalls()).toEqual(['GET /users/01HZZZZZZZZZZZZZZZZZZZZZZZ', 'GET /users/by-username/01hzzzzzzzzzzzzzzzzzzzzzzz']);
  });

  it('prefers the exact name when two differ only by case, and finds none when neither is exact', async () => {
    const lower = env.fake.addUser('dave');
    env.fake.addUser('Dave');
    const found = await backend.findUsers([
      { input: 'dave', username: 'dave' },
      { input: 'DAVE', username: 'DAVE' },
    ]);
    expect(found.get('dave')?.id).toBe(lower.id);
    expect(found.has('DAVE')).toBe(false);
  });

  it('percent-encodes path segments, and looks a name up once however often it is given', async () => {
    const slashed = env.fake.addUser('team/ops');
    const dotted = env.fake.addUser('..');
    const found = await backend.findUsers([
      { input: 'team/ops', username: 'team/ops' },
      { input: '@team/ops:example.com', username: 'team/ops' },
      { input: '..', username: '..' },
    ]);
    expect(found.get('team/ops')?.id).toBe(slashed.id);
    expect(found.get('@team/ops:example.com')?.id).toBe(slashed.id);
    expect(found.get('..')?.id).toBe(dotted.id);
    expect(env.fake.apiCalls()).toEqual(['GET /users/by-username/team%2Fops', 'GET /users']);
  });
});

describe('similarUsernames', () => {
  it('ranks the names found by shorter and shorter prefixes by edit distance', async () => {
    for (const name of ['alice', 'alicia', 'alina', 'bob', 'malice', 'alfred']) env.fake.addUser(name);
    // alice is one edit away; alina and malice two (ties by name); alicia three.
    expect(await backend.similarUsernames('alise', 3)).toEqual(['alice', 'alina', 'malice']);
    expect(await backend.similarUsernames('alise', 4)).toEqual(['alice', 'alina', 'malice', 'alicia']);
    expect(await backend.similarUsernames('zzz', 3)).toEqual([]);
    expect(await backend.similarUsernames('alice', 0)).toEqual([]);
    const searches = env.fake.requests.filter((r) => r.path.endsWith('/api/admin/v1/users')).map((r) => r.query['filter[search]']);
    expect(searches).toEqual(['alise', 'alis', 'ali', 'alise', 'alis', 'ali', 'zzz', 'zz']);
  });
});

describe('listAdmins', () => {
  it('follows the cursor across pages and sorts by username', async () => {
    env.fake.settings.maxPageSize = 10;
    const names = Array.from({ length: 25 }, (_, i) => `admin${String(24 - i).padStart(2, '0')}`);
    for (const name of names) env.fake.addUser(name, { admin: true });
    for (let i = 0; i < 7; i++) env.fake.addUser(`user${i}`);
    const admins = await backend.listAdmins();
    expect(admins.map((u) => u.username)).toEqual([...names].sort());
    expect(admins.every((u) => u.admin)).toBe(true);
    const pages = env.fake.requests.filter((r) => r.path.endsWith('/users'));
    expect(pages).toHaveLength(3);
    expect(pages.map((r) => r.query['page[first]'])).toEqual(['100', '100', '100']);
    expect(pages[0]?.query['page[after]']).toBeUndefined();
    expect(pages.every((r) => r.query['filter[admin]'] === 'true')).toBe(true);
  });

  it('pages with links.next on a MAS before 1.4 (no per-item cursor)', async () => {
    env.fake.settings.old = true;
    env.fake.settings.maxPageSize = 10;
    for (let i = 0; i < 25; i++) env.fake.addUser(`admin${String(i).padStart(2, '0')}`, { admin: true });
    const admins = await backend.listAdmins();
    expect(admins).toHaveLength(25);
    expect(new Set(admins.map((u) => u.id)).size).toBe(25);
    expect(env.fake.requests.filter((r) => r.path.endsWith('/users'))).toHaveLength(3);
  });
});

describe('createUsers', () => {
  it('creates a user with password, addresses, an upstream link and admin, as MAS would', async () => {
    const provider = env.fake.addProvider({ humanName: 'Corp SSO' });
    const orphan = env.fake.addLink(provider.id, 'sub-bob', null);
    const password = Secret.fromString('correct horse battery staple 42');
    const [alice, bob] = await backend.createUsers([
      newUser('alice', { displayName: 'Alice A.', password, emails: ['alice@example.com'], upstream: [{ providerId: provider.id, subject: 'sub-alice' }], admin: true }),
      newUser('bob', { upstream: [{ providerId: provider.id, subject: 'sub-bob' }] }),
    ]);
    expect(alice).toMatchObject({ username: 'alice', admin: true, lockedAt: null, deactivatedAt: null });
    expect(bob).toMatchObject({ username: 'bob', admin: false });
    const stored = env.fake.users.get(alice!.id)!;
    expect(stored).toMatchObject({ admin: true, displayName: 'Alice A.', passwords: ['correct horse battery staple 42'] });
    expect([...env.fake.emails.values()].map((e) => [e.userId, e.email])).toEqual([[alice!.id, 'alice@example.com']]);
    // bob's subject had an orphan link: MAS attached it rather than making a second one.
    expect(env.fake.links.get(orphan.id)?.userId).toBe(bob!.id);
    expect([...env.fake.links.values()].map((l) => [l.subject, l.userId])).toEqual([
      ['sub-bob', bob!.id],
      ['sub-alice', alice!.id],
    ]);
    expect(env.fake.jobs).toEqual([
      { name: 'provision-user', userId: alice!.id, synchronous: true, payload: { set_display_name: 'Alice A.' } },
      { name: 'provision-user', userId: alice!.id },
      { name: 'provision-user', userId: bob!.id, synchronous: true, payload: { set_display_name: null } },
    ]);
    const create = env.fake.requests.find((r) => r.method === 'POST' && r.path.endsWith('/users'));
    expect(JSON.parse(create!.body)).toEqual({ username: 'alice', skip_homeserver_check: false, displayname: 'Alice A.' });
    const setPassword = env.fake.requests.find((r) => r.path.endsWith('/set-password'));
    expect(JSON.parse(setPassword!.body)).toEqual({ password: 'correct horse battery staple 42', skip_password_check: false });
    expect(setPassword!.query).toEqual({});
  });

  it('asks MAS to skip the homeserver check when told to', async () => {
    env.fake.settings.reserved.add('bridgebot');
    const refused = await expectError(() => backend.createUsers([newUser('bridgebot')]), env.fake);
    expect(refused.message).toBe('MAS refused creating user bridgebot (409: Username is reserved by the homeserver).');
    const [bot] = await backend.createUsers([newUser('bridgebot', { skipHomeserverCheck: true })]);
    expect(bot?.username).toBe('bridgebot');
  });

  it('relays an invalid username', async () => {
    const error = await expectError(() => backend.createUsers([newUser('_hidden')]), env.fake);
    expect(error.code).toBe('MAS_TOOL_ADMIN_API_BAD_REQUEST');
    expect(error.message).toBe('MAS refused creating user _hidden (400: Username is not valid).');
    expect(env.fake.users.size).toBe(0);
  });

  it('says which user was created and which step failed when a later step fails', async () => {
    env.fake.settings.weakPasswords.add('hunter2hunter2');
    const weak = Secret.fromString('hunter2hunter2');
    const error = await expectError(
      () => backend.createUsers([newUser('alice'), newUser('bob', { password: weak, emails: ['bob@example.com'] }), newUser('carol')]),
      env.fake,
      ['hunter2hunter2'],
    );
    const bob = env.fake.userByName('bob')!;
    expect(error.code).toBe('MAS_TOOL_ADMIN_API_INCOMPLETE');
    expect(error.message).toBe(
      `MAS refused setting the password of bob (400: Password is too weak). User bob (${bob.id}) was created in MAS, but setting the password of bob failed, so it is incomplete. Created before it: alice. 1 more user was not created.`,
    );
    expect(error.details).toMatchObject({
      failedStep: 'setting the password of bob',
      createdUser: { id: bob.id, username: 'bob' },
      completedUsers: [{ username: 'alice' }],
      causeCode: 'MAS_TOOL_ADMIN_API_BAD_REQUEST',
    });
    expect(error.hint).toContain('finish bob by hand');
    expect(env.fake.userByName('carol')).toBeUndefined();
    expect(env.fake.emails.size).toBe(0);
  });

  it('passes ignorePasswordComplexity as skip_password_check', async () => {
    env.fake.settings.weakPasswords.add('hunter2hunter2');
    const [user] = await backend.createUsers([newUser('dan', { password: Secret.fromString('hunter2hunter2'), ignorePasswordComplexity: true })]);
    expect(env.fake.users.get(user!.id)?.passwords).toEqual(['hunter2hunter2']);
  });
});

describe('state changes', () => {
  it('sets and clears admin without a job', async () => {
    const alice = env.fake.addUser('alice');
    await backend.setAdmin([alice.id], true);
    expect(env.fake.users.get(alice.id)?.admin).toBe(true);
    await backend.setAdmin([alice.id], false);
    expect(env.fake.users.get(alice.id)?.admin).toBe(false);
    expect(env.fake.jobs).toEqual([]);
  });

  it('locks and unlocks, MAS scheduling provision-user each time', async () => {
    const alice = env.fake.addUser('alice');
    const bob = env.fake.addUser('bob');
    await backend.lock([alice.id, bob.id]);
    expect(env.fake.users.get(alice.id)?.lockedAt).not.toBeNull();
    expect(env.fake.users.get(bob.id)?.lockedAt).not.toBeNull();
    await backend.unlock([alice.id]);
    expect(env.fake.users.get(alice.id)?.lockedAt).toBeNull();
    expect(env.fake.jobs.map((j) => [j.name, j.userId])).toEqual([
      ['provision-user', alice.id],
      ['provision-user', bob.id],
      ['provision-user', alice.id],
    ]);
  });

  it('deactivates with erase as asked (the API erases by default), and reactivates', async () => {
    const alice = env.fake.addUser('alice');
    const bob = env.fake.addUser('bob');
    await backend.deactivate([alice.id], false);
    await backend.deactivate([bob.id], true);
    expect(env.fake.users.get(alice.id)?.deactivatedAt).not.toBeNull();
    expect(env.fake.jobs).toEqual([
      { name: 'deactivate-user', userId: alice.id, payload: { hs_erase: false } },
      { name: 'deactivate-user', userId: bob.id, payload: { hs_erase: true } },
    ]);
    await backend.reactivate([alice.id]);
    expect(env.fake.users.get(alice.id)?.deactivatedAt).toBeNull();
    expect(env.fake.jobs[2]).toEqual({ name: 'reactivate-user', userId: alice.id, synchronous: true });
  });

  it('sets a password, revealing it only in the request body', async () => {
    const alice = env.fake.addUser('alice');
    env.fake.settings.weakPasswords.add('password1');
    await backend.setPassword(alice.id, Secret.fromString('a much better password 7'), { ignoreComplexity: false });
    expect(env.fake.users.get(alice.id)?.passwords).toEqual(['a much better password 7']);

    await backend.findUsers([{ input: 'alice', username: 'alice' }]);
    const weak = await expectError(() => backend.setPassword(alice.id, Secret.fromString('password1'), { ignoreComplexity: false }), env.fake, ['password1']);
    expect(weak.code).toBe('MAS_TOOL_ADMIN_API_BAD_REQUEST');
    expect(weak.message).toBe('MAS refused setting the password of user alice (400: Password is too weak).');
    expect(weak.hint).toContain('--ignore-complexity');
    await backend.setPassword(alice.id, Secret.fromString('password1'), { ignoreComplexity: true });
    expect(env.fake.users.get(alice.id)?.passwords).toEqual(['a much better password 7', 'password1']);

    env.fake.settings.passwordAuthDisabled = true;
    const disabled = await expectError(() => backend.setPassword(alice.id, Secret.fromString('another good one 99'), { ignoreComplexity: false }), env.fake, ['another good one 99']);
    expect(disabled.code).toBe('MAS_TOOL_ADMIN_API_FORBIDDEN');
    expect(disabled.message).toContain('(403: Password auth is disabled)');
    expect(disabled.hint).toContain('passwords.enabled: false');
  });

  it('reports a user that is gone', async () => {
    const error = await expectError(() => backend.lock(['01J00000000000000000000000']), env.fake);
    expect(error.code).toBe('MAS_TOOL_ADMIN_API_NOT_FOUND');
    expect(error.message).toBe('MAS refused locking user 01J00000000000000000000000 (404: User ID 01J00000000000000000000000 not found).');
  });

  it('runs a transaction as plain work', async () => {
    await expect(backend.transaction(async () => 42)).resolves.toBe(42);
  });
});
