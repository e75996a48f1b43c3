// On a MAS v1.9 schema (before v1.10 dropped email confirmation) new addresses must be written
// confirmed, or MAS would ignore them; and removing one must get past its old confirmation codes.
import { describe, expect, it } from 'vitest';
import { newUlid } from '../../../src/manage/db/ids.js';
import { useTestDatabase } from '../../helpers/db.js';
import { backendFor, cleanBetweenTests, jobs, provisionJob, seedUser, uuid } from './helpers.js';

const db = useTestDatabase('mas-pre-1.10');
cleanBetweenTests(db);

describe('database backend on MAS v1.9', () => {
  it('says it needs confirmed_at and writes it equal to created_at, from createUsers and addEmails', async () => {
    const backend = await backendFor(db);
    expect(backend.emailsNeedConfirmedAt).toBe(true);
    const [jo] = await backend.createUsers([{ username: 'jo', skipHomeserverCheck: false, admin: false, emails: ['jo@example.com'], upstream: [] }]);
    const kim = await seedUser(db.client, 'kim');
    await backend.addEmails([{ userId: kim.id, email: 'kim@example.com' }]);
    const { rows } = await db.client.query<{ user_id: string; email: string; same: boolean }>(
      'SELECT user_id, email, confirmed_at = created_at AS same FROM user_emails ORDER BY email',
    );
    expect(rows).toEqual([
      { user_id: uuid(jo?.id ?? ''), email: 'jo@example.com', same: true },
      { user_id: uuid(kim.id), email: 'kim@example.com', same: true },
    ]);
  });

  it('removes an address that still has confirmation codes', async () => {
    const lee = await seedUser(db.client, 'lee');
    const emailId = newUlid();
    await db.client.query(`INSERT INTO user_emails (user_email_id, user_id, email, created_at, confirmed_at) VALUES ($1, $2, 'lee@example.com', now(), now())`, [
      uuid(emailId),
      uuid(lee.id),
    ]);
    await db.client.query(
      `INSERT INTO user_email_confirmation_codes (user_email_confirmation_code_id, user_email_id, code, created_at, expires_at) VALUES ($1, $2, '123456', now(), now())`,
      [uuid(newUlid()), uuid(emailId)],
    );
    const backend = await backendFor(db);
    await backend.removeEmails([{ id: emailId, userId: lee.id, email: 'lee@example.com' }]);
    expect((await db.client.query('SELECT 1 FROM user_emails')).rows).toEqual([]);
    expect(await jobs(db.client)).toEqual([provisionJob(lee.id)]);
  });

  it('suggests similar names (v1.9 already has pg_trgm)', async () => {
    await seedUser(db.client, 'morgan');
    const backend = await backendFor(db);
    expect(await backend.similarUsernames('morgen', 1)).toEqual(['morgan']);
  });
});
