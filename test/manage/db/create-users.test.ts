// Registering users through the database backend: every row mas-cli's register-user writes, for a
// batch at once, and nothing at all when any part of it fails.
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../../src/manage/password-hash.js';
import type { NewUser } from '../../../src/manage/model.js';
import { Secret } from '../../../src/secret.js';
import { snapshotDatabase } from '../../helpers/db-snapshot.js';
import { useTestDatabase } from '../../helpers/db.js';
import { backendFor, cleanBetweenTests, jobs, provisionJob, seedLink, seedProvider, seedUser, ulid, uuid } from './helpers.js';

const db = useTestDatabase('mas');
cleanBetweenTests(db);

const newUser = (username: string, extra: Partial<NewUser> = {}): NewUser => ({
  username,
  skipHomeserverCheck: false,
  admin: false,
  emails: [],
  upstream: [],
  ...extra,
});

describe('createUsers', () => {
  it('writes users, passwords, emails, links, admin flags and a provision-user job each', async () => {
    const provider = await seedProvider(db.client);
    const pepper = Buffer.from('pepper-from-config');
    const { hash, version } = await hashPassword(Secret.fromString('correct horse'), { version: 2, algorithm: 'bcrypt', cost: 4, pepper, unicodeNormalization: false });
    const backend = await backendFor(db);
    const created = await backend.createUsers(
      [
        newUser('alice', { displayName: 'Alice A.', password: Secret.fromString(hash), admin: true, emails: ['alice@example.com', 'a@example.org'] }),
        newUser('bob', { upstream: [{ providerId: provider, subject: 'bob-sub' }] }),
      ],
      version,
    );
    expect(created.map((u) => [u.username, u.admin, u.lockedAt, u.deactivatedAt])).toEqual([
      ['alice', true, null, null],
      ['bob', false, null, null],
    ]);
    const [alice, bob] = created as [(typeof created)[0], (typeof created)[0]];

    const { rows: users } = await db.client.query('SELECT user_id, username, can_request_admin, locked_at, deactivated_at, is_guest FROM users ORDER BY username');
    expect(users).toEqual([
      { user_id: uuid(alice.id), username: 'alice', can_request_admin: true, locked_at: null, deactivated_at: null, is_guest: false },
      { user_id: uuid(bob.id), username: 'bob', can_request_admin: false, locked_at: null, deactivated_at: null, is_guest: false },
    ]);

    const { rows: passwords } = await db.client.query<{ user_id: string; hashed_password: string; version: number; upgraded_from_id: null }>(
      'SELECT user_id, hashed_password, version, upgraded_from_id FROM user_passwords',
    );
    expect(passwords).toHaveLength(1);
    expect(passwords[0]).toMatchObject({ user_id: uuid(alice.id), version: 2, upgraded_from_id: null });
    // What MAS checks at login: bcrypt over the password followed by the pepper.
    const stored = passwords[0]?.hashed_password ?? '';
    expect(await bcrypt.compare('correct horse' + pepper.toString(), stored)).toBe(true);
    expect(await bcrypt.compare('correct horse', stored)).toBe(false);

    const { rows: emails } = await db.client.query('SELECT user_id, email FROM user_emails ORDER BY email');
    expect(emails).toEqual([
      { user_id: uuid(alice.id), email: 'a@example.org' },
      { user_id: uuid(alice.id), email: 'alice@example.com' },
    ]);

    const { rows: links } = await db.client.query('SELECT upstream_oauth_provider_id, user_id, subject, human_account_name FROM upstream_oauth_links');
    expect(links).toEqual([{ upstream_oauth_provider_id: uuid(provider), user_id: uuid(bob.id), subject: 'bob-sub', human_account_name: null }]);

    expect(await jobs(db.client)).toEqual([provisionJob(alice.id, 'Alice A.'), provisionJob(bob.id, null)]);
  });

  it('attaches an existing link that has no user instead of creating one', async () => {
    const provider = await seedProvider(db.client);
    const orphan = await seedLink(db.client, provider, 'carol-sub', null);
    const backend = await backendFor(db);
    const [carol] = await backend.createUsers([newUser('carol', { upstream: [{ providerId: provider, subject: 'carol-sub' }] })]);
    const { rows } = await db.client.query<{ upstream_oauth_link_id: string; user_id: string }>('SELECT upstream_oauth_link_id, user_id FROM upstream_oauth_links');
    expect(rows.map((r) => [ulid(r.upstream_oauth_link_id), ulid(r.user_id)])).toEqual([[orphan, carol?.id]]);
  });

  it('refuses a subject linked to another user, and writes nothing', async () => {
    const provider = await seedProvider(db.client);
    const owner = await seedUser(db.client, 'owner');
    await seedLink(db.client, provider, 'taken-sub', owner.id);
    const backend = await backendFor(db);
    const before = await snapshotDatabase(db.client);
    const error = await backend
      .createUsers([newUser('dave'), newUser('erin', { upstream: [{ providerId: provider, subject: 'taken-sub' }] })])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MAS_TOOL_LINK_TAKEN' });
    expect((error as Error).message).toContain('owner');
    expect(await snapshotDatabase(db.client)).toEqual(before);
  });

  it('refuses a username MAS has, regardless of case, naming it', async () => {
    await seedUser(db.client, 'Frank');
    const backend = await backendFor(db);
    const error = await backend.createUsers([newUser('gina'), newUser('frank')]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MAS_TOOL_USER_EXISTS' });
    expect((error as Error).message).toContain('"frank" (as "Frank")');
    const { rows } = await db.client.query('SELECT username FROM users ORDER BY username');
    expect(rows).toEqual([{ username: 'Frank' }]);
    expect(await jobs(db.client)).toEqual([]);
  });

  it('refuses a batch naming one username twice', async () => {
    const backend = await backendFor(db);
    await expect(backend.createUsers([newUser('hal'), newUser('HAL')])).rejects.toMatchObject({ code: 'MAS_TOOL_USER_EXISTS' });
  });

  it('refuses an unknown provider', async () => {
    const backend = await backendFor(db);
    const { newUlid } = await import('../../../src/manage/db/ids.js');
    await expect(backend.createUsers([newUser('ivy', { upstream: [{ providerId: newUlid(), subject: 's' }] })])).rejects.toMatchObject({
      code: 'MAS_TOOL_UNKNOWN_PROVIDER',
    });
    expect((await db.client.query('SELECT 1 FROM users')).rows).toEqual([]);
  });
});
