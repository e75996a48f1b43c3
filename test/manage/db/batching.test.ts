// "Batched, not one round trip per user": a command over 30 users sends the MAS database as many
// statements as the same command over 3. Counted on a real connection by wrapping its query method.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseBackendOn } from '../../../src/manage/db/backend.js';
import { inspectManageSchema } from '../../../src/manage/db/schema.js';
import type { DatabaseOnlyBackend } from '../../../src/manage/backend.js';
import { useTestDatabase } from '../../helpers/db.js';
import { seedUser } from './helpers.js';

const db = useTestDatabase('mas');
let client: pg.Client;
let backend: DatabaseOnlyBackend;
let statements = 0;

beforeAll(async () => {
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    statements++;
    return query(...args);
  };
  backend = databaseBackendOn(client, await inspectManageSchema(client));
});

afterAll(async () => {
  await client?.end();
});

async function counted(work: () => Promise<unknown>): Promise<number> {
  const before = statements;
  await work();
  return statements - before;
}

async function seed(prefix: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await seedUser(db.client, `${prefix}${i}`)).id);
  return ids;
}

describe('database backend batching', () => {
  it('looks up, locks, sets admin and adds addresses for 30 users in as many statements as for 3', async () => {
    const few = await seed('few', 3);
    const many = await seed('many', 30);
    const refs = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ input: `${prefix}${i}`, username: `${prefix}${i}` }));
    expect(await counted(() => backend.findUsers(refs('many', 30)))).toBe(await counted(() => backend.findUsers(refs('few', 3))));
    expect(await counted(() => backend.transaction(() => backend.lock(many)))).toBe(await counted(() => backend.transaction(() => backend.lock(few))));
    expect(await counted(() => backend.setAdmin(many, true))).toBe(await counted(() => backend.setAdmin(few, true)));
    const emails = (ids: string[], tag: string) => ids.map((userId, i) => ({ userId, email: `${tag}${i}@example.com` }));
    expect(await counted(() => backend.addEmails(emails(many, 'm')))).toBe(await counted(() => backend.addEmails(emails(few, 'f'))));
    const jobs = await db.client.query<{ n: number }>("SELECT count(*)::int AS n FROM queue_jobs WHERE queue_name = 'provision-user'");
    // One job per user for the lock and one per user for the addresses.
    expect(jobs.rows[0]!.n).toBe(2 * 33);
  });

  it('registers 30 users with an address each in as many statements as 3', async () => {
    const users = (prefix: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({ username: `${prefix}${i}`, skipHomeserverCheck: false, admin: i === 0, emails: [`${prefix}${i}@example.org`], upstream: [] }));
    const few = await counted(() => backend.createUsers(users('newfew', 3)));
    const many = await counted(() => backend.createUsers(users('newmany', 30)));
    expect(many).toBe(few);
    expect((await db.client.query("SELECT count(*)::int AS n FROM users WHERE username LIKE 'newmany%'")).rows[0].n).toBe(30);
  });
});
