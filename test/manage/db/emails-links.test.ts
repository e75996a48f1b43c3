// Addresses and upstream links through the database backend.
import { describe, expect, it } from 'vitest';
import { newUlid } from '../../../src/manage/db/ids.js';
import { useTestDatabase } from '../../helpers/db.js';
import { backendFor, cleanBetweenTests, jobs, provisionJob, seedLink, seedProvider, seedUser, ulid, uuid } from './helpers.js';

const db = useTestDatabase('mas');
cleanBetweenTests(db);

describe('emails', () => {
  it('adds addresses (no confirmed_at on MAS 1.22) with one provision-user job per user', async () => {
    const a = await seedUser(db.client, 'a');
    const b = await seedUser(db.client, 'b');
    const backend = await backendFor(db);
    expect(backend.emailsNeedConfirmedAt).toBe(false);
    await backend.addEmails([
      { userId: a.id, email: 'a1@example.com' },
      { userId: a.id, email: 'a2@example.com' },
      { userId: b.id, email: 'b@example.com' },
    ]);
    const { rows } = await db.client.query('SELECT user_id, email FROM user_emails ORDER BY email');
    expect(rows).toEqual([
      { user_id: uuid(a.id), email: 'a1@example.com' },
      { user_id: uuid(a.id), email: 'a2@example.com' },
      { user_id: uuid(b.id), email: 'b@example.com' },
    ]);
    expect(await jobs(db.client)).toEqual([provisionJob(a.id), provisionJob(b.id)]);
  });

  it("finds a user's addresses and anyone's holding an address, case-insensitively", async () => {
    const a = await seedUser(db.client, 'a');
    const b = await seedUser(db.client, 'b');
    const c = await seedUser(db.client, 'c');
    const backend = await backendFor(db);
    await backend.addEmails([
      { userId: a.id, email: 'a@example.com' },
      { userId: b.id, email: 'Shared@Example.com' },
      { userId: c.id, email: 'c@example.com' },
    ]);
    const found = await backend.findEmails({ userIds: [a.id], emails: ['shared@example.COM'] });
    expect(found.map((e) => [e.userId, e.email]).sort()).toEqual(
      [
        [a.id, 'a@example.com'],
        [b.id, 'Shared@Example.com'],
      ].sort(),
    );
    expect(await backend.findEmails({})).toEqual([]);
  });

  it('removes addresses with one provision-user job per user', async () => {
    const a = await seedUser(db.client, 'a');
    const backend = await backendFor(db);
    await backend.addEmails([
      { userId: a.id, email: 'x@example.com' },
      { userId: a.id, email: 'y@example.com' },
      { userId: a.id, email: 'z@example.com' },
    ]);
    await db.client.query('DELETE FROM queue_jobs');
    const all = await backend.findEmails({ userIds: [a.id] });
    await backend.removeEmails(all.filter((e) => e.email !== 'z@example.com'));
    expect((await db.client.query('SELECT email FROM user_emails')).rows).toEqual([{ email: 'z@example.com' }]);
    expect(await jobs(db.client)).toEqual([provisionJob(a.id)]);
  });

  it('refuses an address for an id that is no user', async () => {
    const backend = await backendFor(db);
    await expect(backend.addEmails([{ userId: newUlid(), email: 'nobody@example.com' }])).rejects.toMatchObject({ code: 'MAS_TOOL_USER_NOT_FOUND' });
    expect(await jobs(db.client)).toEqual([]);
  });
});

describe('upstream providers and links', () => {
  it('lists providers with enabled = not disabled and a label from the human name or the issuer', async () => {
    const named = await seedProvider(db.client, { humanName: 'Corporate SSO' });
    const bare = await seedProvider(db.client, { issuer: 'https://accounts.example.net/', disabled: true });
    const backend = await backendFor(db);
    expect(await backend.listProviders()).toEqual([
      { id: named, enabled: true, label: 'Corporate SSO' },
      { id: bare, enabled: false, label: 'https://accounts.example.net/' },
    ]);
  });

  it('finds links by (provider, subject) and by user', async () => {
    const provider = await seedProvider(db.client);
    const a = await seedUser(db.client, 'a');
    const la = await seedLink(db.client, provider, 'sub-a', a.id);
    const orphan = await seedLink(db.client, provider, 'sub-orphan', null);
    await seedLink(db.client, provider, 'sub-other', null);
    const backend = await backendFor(db);
    const found = await backend.findLinks({ pairs: [{ providerId: provider, subject: 'sub-orphan' }], userIds: [a.id] });
    expect(found).toEqual([
      { id: la, providerId: provider, subject: 'sub-a', userId: a.id, humanAccountName: null },
      { id: orphan, providerId: provider, subject: 'sub-orphan', userId: null, humanAccountName: null },
    ]);
  });

  it('adds links, attaching a named orphan link, without any job', async () => {
    const provider = await seedProvider(db.client);
    const a = await seedUser(db.client, 'a');
    const b = await seedUser(db.client, 'b');
    const orphan = await seedLink(db.client, provider, 'sub-b', null);
    const backend = await backendFor(db);
    await backend.addLinks([
      { userId: a.id, providerId: provider, subject: 'sub-a' },
      { userId: b.id, providerId: provider, subject: 'sub-b', orphanLinkId: orphan },
    ]);
    const { rows } = await db.client.query<{ id: string; user_id: string; subject: string }>(
      'SELECT upstream_oauth_link_id AS id, user_id, subject FROM upstream_oauth_links ORDER BY subject',
    );
    expect(rows.map((r) => [r.subject, ulid(r.user_id)])).toEqual([
      ['sub-a', a.id],
      ['sub-b', b.id],
    ]);
    expect(ulid(rows[1]?.id ?? '')).toBe(orphan);
    expect(await jobs(db.client)).toEqual([]);
  });

  it('refuses to take over a subject linked to someone else', async () => {
    const provider = await seedProvider(db.client);
    const a = await seedUser(db.client, 'a');
    const b = await seedUser(db.client, 'b');
    await seedLink(db.client, provider, 'sub', a.id);
    const backend = await backendFor(db);
    await expect(backend.addLinks([{ userId: b.id, providerId: provider, subject: 'sub' }])).rejects.toMatchObject({ code: 'MAS_TOOL_LINK_TAKEN' });
    // Linking it again to its owner is no change and no error.
    await backend.addLinks([{ userId: a.id, providerId: provider, subject: 'sub' }]);
    expect((await db.client.query('SELECT count(*)::int AS n FROM upstream_oauth_links')).rows).toEqual([{ n: 1 }]);
  });

  it('removes links as MAS does: their authorization sessions stay, unlinked', async () => {
    const provider = await seedProvider(db.client);
    const a = await seedUser(db.client, 'a');
    const link = await seedLink(db.client, provider, 'sub', a.id);
    const session = newUlid();
    await db.client.query(
      `INSERT INTO upstream_oauth_authorization_sessions (upstream_oauth_authorization_session_id, upstream_oauth_provider_id, upstream_oauth_link_id, state, created_at)
       VALUES ($1, $2, $3, 'state', now())`,
      [uuid(session), uuid(provider), uuid(link)],
    );
    const backend = await backendFor(db);
    const [found] = await backend.findLinks({ userIds: [a.id] });
    await backend.removeLinks(found ? [found] : []);
    expect((await db.client.query('SELECT 1 FROM upstream_oauth_links')).rows).toEqual([]);
    const { rows } = await db.client.query('SELECT upstream_oauth_link_id, unlinked_at IS NOT NULL AS unlinked FROM upstream_oauth_authorization_sessions');
    expect(rows).toEqual([{ upstream_oauth_link_id: null, unlinked: true }]);
    expect(await jobs(db.client)).toEqual([]);
  });
});
