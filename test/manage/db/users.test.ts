// The database backend's user lookups and state flips, against the MAS 1.22 schema: the rows MAS
// reads and the queue_jobs rows its worker picks up.
import { describe, expect, it } from 'vitest';
import { MasToolError } from '../../../src/errors.js';
import { newUlid } from '../../../src/manage/db/ids.js';
import type { UserRef } from '../../../src/manage/model.js';
import { useTestDatabase } from '../../helpers/db.js';
import { backendFor, cleanBetweenTests, jobs, provisionJob, seedUser, uuid } from './helpers.js';

const db = useTestDatabase('mas');
cleanBetweenTests(db);

const ref = (input: string, id?: string): UserRef => ({ input, username: input, ...(id !== undefined ? { id } : {}) });

async function userRow(userId: string) {
  const { rows } = await db.client.query<{ locked_at: Date | null; deactivated_at: Date | null; can_request_admin: boolean }>(
    'SELECT locked_at, deactivated_at, can_request_admin FROM users WHERE user_id = $1',
    [uuid(userId)],
  );
  return rows[0];
}

describe('findUsers', () => {
  it('finds every user of a batch case-insensitively, keyed by what was typed', async () => {
    const alice = await seedUser(db.client, 'alice', { admin: true });
    const bob = await seedUser(db.client, 'Bob', { locked: true });
    const backend = await backendFor(db);
    const found = await backend.findUsers([ref('ALICE'), ref('bob'), ref('carol')]);
    expect([...found.keys()].sort()).toEqual(['ALICE', 'bob']);
    expect(found.get('ALICE')).toMatchObject({ id: alice.id, username: 'alice', admin: true, lockedAt: null, deactivatedAt: null });
    expect(found.get('bob')).toMatchObject({ id: bob.id, username: 'Bob', admin: false, lockedAt: '2026-01-01T00:00:00.000Z' });
    expect(found.get('ALICE')?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('among usernames differing only by case takes the exact one, and none when no name matches exactly', async () => {
    const lower = await seedUser(db.client, 'dave');
    await seedUser(db.client, 'Dave');
    const backend = await backendFor(db);
    const found = await backend.findUsers([ref('dave'), ref('DAVE')]);
    expect(found.get('dave')?.id).toBe(lower.id);
    expect(found.has('DAVE')).toBe(false);
  });

  it('tries a ref with an id as an id first, then as a username', async () => {
    const erin = await seedUser(db.client, 'erin');
    // A user literally named like another user's id: the id wins.
    const lookalike = await seedUser(db.client, erin.id.toLowerCase());
    const backend = await backendFor(db);
    const byId = await backend.findUsers([{ input: erin.id, username: erin.id.toLowerCase(), id: erin.id }]);
    expect(byId.get(erin.id)?.username).toBe('erin');
    const unknownId = newUlid();
    const fallback = await backend.findUsers([{ input: 'x', username: 'erin', id: unknownId }]);
    expect(fallback.get('x')?.id).toBe(erin.id);
    expect(lookalike.username).toBe(erin.id.toLowerCase());
  });

  it('does the whole batch in one statement', async () => {
    for (let i = 0; i < 50; i++) await seedUser(db.client, `user${i}`);
    const backend = await backendFor(db);
    const queries: string[] = [];
    const original = db.client.query.bind(db.client);
    db.client.query = ((...args: Parameters<typeof original>) => {
      queries.push(String(args[0]));
      return original(...args);
    }) as typeof db.client.query;
    try {
      const found = await backend.findUsers(Array.from({ length: 50 }, (_, i) => ref(`USER${i}`)));
      expect(found.size).toBe(50);
    } finally {
      db.client.query = original;
    }
    expect(queries).toHaveLength(1);
  });
});

describe('similarUsernames and listAdmins', () => {
  it('suggests the closest usernames first (pg_trgm)', async () => {
    for (const name of ['alice', 'alicia', 'malice', 'bob', 'zed']) await seedUser(db.client, name);
    const backend = await backendFor(db);
    const similar = await backend.similarUsernames('alcie', 3);
    expect(similar[0]).toBe('alice');
    expect(similar).not.toContain('bob');
    expect(await backend.similarUsernames('alice', 2)).toEqual(['alice', 'alicia']);
  });

  it('falls back to names sharing the first letters without pg_trgm', async () => {
    for (const name of ['alice', 'alicia', 'alfred', 'bob']) await seedUser(db.client, name);
    const schema = await (await import('../../../src/manage/db/schema.js')).inspectManageSchema(db.client);
    const { databaseBackendOn } = await import('../../../src/manage/db/backend.js');
    const backend = databaseBackendOn(db.client, { ...schema, trigram: false });
    expect(await backend.similarUsernames('alixe', 5)).toEqual(['alice', 'alicia']);
  });

  it('lists users who may request admin, by username', async () => {
    await seedUser(db.client, 'zoe', { admin: true });
    await seedUser(db.client, 'adam', { admin: true });
    await seedUser(db.client, 'mallory');
    const backend = await backendFor(db);
    expect((await backend.listAdmins()).map((u) => u.username)).toEqual(['adam', 'zoe']);
  });
});

describe('state changes and their jobs', () => {
  it('locks a batch: locked_at set where it was not, and one provision-user job per user', async () => {
    const a = await seedUser(db.client, 'a');
    const b = await seedUser(db.client, 'b');
    const c = await seedUser(db.client, 'c', { locked: true });
    const backend = await backendFor(db);
    await backend.lock([a.id, b.id, c.id]);
    expect((await userRow(a.id))?.locked_at).toBeInstanceOf(Date);
    expect((await userRow(b.id))?.locked_at).toBeInstanceOf(Date);
    // Already locked: its lock time is kept.
    expect((await userRow(c.id))?.locked_at?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(await jobs(db.client)).toEqual([provisionJob(a.id), provisionJob(b.id), provisionJob(c.id)]);
  });

  it('unlocks with a provision-user job each', async () => {
    const a = await seedUser(db.client, 'a', { locked: true });
    const backend = await backendFor(db);
    await backend.unlock([a.id, a.id]);
    expect((await userRow(a.id))?.locked_at).toBeNull();
    expect(await jobs(db.client)).toEqual([provisionJob(a.id)]);
  });

  it('deactivates with deactivate-user jobs carrying hs_erase', async () => {
    const a = await seedUser(db.client, 'a');
    const b = await seedUser(db.client, 'b');
    const backend = await backendFor(db);
    await backend.deactivate([a.id, b.id], true);
    expect((await userRow(a.id))?.deactivated_at).toBeInstanceOf(Date);
    expect(await jobs(db.client)).toEqual(
      [a, b].map((u) => ({ queue_name: 'deactivate-user', payload: { user_id: u.id, hs_erase: true }, metadata: {}, status: 'available' })),
    );
  });

  it('reactivates by scheduling only the job: the worker clears deactivated_at after Synapse', async () => {
    const a = await seedUser(db.client, 'a', { deactivated: true });
    const backend = await backendFor(db);
    await backend.reactivate([a.id]);
    expect((await userRow(a.id))?.deactivated_at).toBeInstanceOf(Date);
    expect(await jobs(db.client)).toEqual([{ queue_name: 'reactivate-user', payload: { user_id: a.id }, metadata: {}, status: 'available' }]);
  });

  it('sets and clears can_request_admin without any job', async () => {
    const a = await seedUser(db.client, 'a');
    const backend = await backendFor(db);
    await backend.setAdmin([a.id], true);
    expect((await userRow(a.id))?.can_request_admin).toBe(true);
    await backend.setAdmin([a.id], false);
    expect((await userRow(a.id))?.can_request_admin).toBe(false);
    expect(await jobs(db.client)).toEqual([]);
  });

  it('refuses an id that is no user, and schedules nothing for the others', async () => {
    const a = await seedUser(db.client, 'a');
    const ghost = newUlid();
    const backend = await backendFor(db);
    const error = await backend.lock([a.id, ghost]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MasToolError);
    expect(error).toMatchObject({ code: 'MAS_TOOL_USER_NOT_FOUND' });
    expect((error as Error).message).toContain(ghost);
    expect((await userRow(a.id))?.locked_at).toBeNull();
    expect(await jobs(db.client)).toEqual([]);
  });

  it('provisions every user, locked and deactivated ones too, in one statement', async () => {
    const users = [await seedUser(db.client, 'a'), await seedUser(db.client, 'b', { locked: true }), await seedUser(db.client, 'c', { deactivated: true })];
    const backend = await backendFor(db);
    expect(await backend.provisionAllUsers()).toBe(3);
    const rows = await jobs(db.client);
    expect(rows).toHaveLength(3);
    expect(rows).toEqual(expect.arrayContaining(users.map((u) => provisionJob(u.id))));
    // The job ids are ULID-shaped: their first 48 bits are the time they were made.
    const { rows: ids } = await db.client.query<{ ms: string }>(
      `SELECT ('x' || substr(replace(queue_job_id::text, '-', ''), 1, 12))::bit(48)::bigint::text AS ms FROM queue_jobs`,
    );
    for (const { ms } of ids) expect(Math.abs(Number(ms) - Date.now())).toBeLessThan(60_000);
  });

  it('encodes ids in SQL exactly as the ulid package does', async () => {
    const samples = [...Array.from({ length: 20 }, () => newUlid()), '00000000000000000000000000', '7ZZZZZZZZZZZZZZZZZZZZZZZZZ'];
    for (const [i, id] of samples.entries()) await db.client.query(`INSERT INTO users (user_id, username, created_at) VALUES ($1, $2, now())`, [uuid(id), `u${i}`]);
    const backend = await backendFor(db);
    await backend.provisionAllUsers();
    const payloadIds = (await jobs(db.client)).map((j) => j.payload.user_id);
    expect([...payloadIds].sort()).toEqual([...samples].sort());
  });
});

describe('setPassword', () => {
  it('adds a user_passwords row with the given hash and version', async () => {
    const a = await seedUser(db.client, 'a');
    const backend = await backendFor(db);
    const { Secret } = await import('../../../src/secret.js');
    await backend.setPassword(a.id, Secret.fromString('$2b$04$hashhashhashhashhashhashhashhashhashhashhashhashhash'), { version: 2, ignoreComplexity: false });
    const { rows } = await db.client.query('SELECT hashed_password, version, upgraded_from_id FROM user_passwords WHERE user_id = $1', [uuid(a.id)]);
    expect(rows).toEqual([{ hashed_password: '$2b$04$hashhashhashhashhashhashhashhashhashhashhashhashhash', version: 2, upgraded_from_id: null }]);
    expect(await jobs(db.client)).toEqual([]);
  });
});

describe('ids', () => {
  it('treats a ref id that is no ULID as a plain username, and refuses such an id in a write', async () => {
    const u = await seedUser(db.client, '8zzzzzzzzzzzzzzzzzzzzzzzzz');
    const backend = await backendFor(db);
    const found = await backend.findUsers([{ input: 'x', username: u.username, id: '8ZZZZZZZZZZZZZZZZZZZZZZZZZ' }]);
    expect(found.get('x')?.id).toBe(u.id);
    await expect(backend.lock(['8ZZZZZZZZZZZZZZZZZZZZZZZZZ'])).rejects.toMatchObject({ code: 'MAS_TOOL_INVALID_ID' });
  });

  it('accepts ids in lower case and answers in upper case', async () => {
    const u = await seedUser(db.client, 'lc');
    const backend = await backendFor(db);
    const found = await backend.findUsers([{ input: 'x', username: 'nobody', id: u.id.toLowerCase() }]);
    expect(found.get('x')?.id).toBe(u.id);
    await backend.lock([u.id.toLowerCase()]);
    expect(await jobs(db.client)).toEqual([provisionJob(u.id)]);
  });
});
