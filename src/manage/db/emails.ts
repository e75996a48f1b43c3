// Email addresses of users. Synapse keeps its own copy (its threepids), which the provision-user job
// replaces with MAS's list, so every change here schedules one per user concerned.
import type { MasEmail } from '../model.js';
import { canonicalUlids, newUlid, toUlid, toUuid } from './ids.js';
import { provisionUserJob, scheduleJobs } from './jobs.js';
import { userNotFound, type MasSql } from './sql.js';

export interface EmailFeatures {
  emailsNeedConfirmedAt: boolean;
  emailConfirmationCodes: boolean;
}

export async function findEmails(sql: MasSql, query: { userIds?: readonly string[]; emails?: readonly string[] }): Promise<MasEmail[]> {
  const userIds = (query.userIds ?? []).map((id) => toUuid(id, 'user id'));
  const emails = query.emails ?? [];
  if (userIds.length === 0 && emails.length === 0) return [];
  // Two arms rather than an OR, so that each uses its index (user_id, and lower(email)).
  const { rows } = await sql.query<{ user_email_id: string; user_id: string; email: string }>(
    'looking email addresses up',
    `SELECT user_email_id, user_id, email, created_at FROM user_emails WHERE user_id = ANY($1::uuid[])
     UNION
     SELECT user_email_id, user_id, email, created_at FROM user_emails
      WHERE lower(email) IN (SELECT lower(e) FROM unnest($2::text[]) AS e)
     ORDER BY user_id, created_at, user_email_id`,
    [userIds, emails],
  );
  return rows.map((r) => ({ id: toUlid(r.user_email_id), userId: toUlid(r.user_id), email: r.email }));
}

/**
 * Inserts the addresses (no job). Before MAS v1.10 only confirmed addresses counted, so there they
 * are written confirmed, as syn2mas did. Fails if a user id is not a user.
 */
export async function insertEmails(sql: MasSql, features: EmailFeatures, items: ReadonlyArray<{ userId: string; email: string }>): Promise<void> {
  if (items.length === 0) return;
  const confirmed = features.emailsNeedConfirmedAt;
  const { rows } = await sql.query<{ user_id: string }>(
    'adding email addresses',
    `INSERT INTO user_emails (user_email_id, user_id, email, created_at${confirmed ? ', confirmed_at' : ''})
     SELECT e.id, u.user_id, e.email, now()${confirmed ? ', now()' : ''}
       FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS e(id, user_id, email)
       JOIN users u ON u.user_id = e.user_id
     RETURNING user_id`,
    [items.map(() => toUuid(newUlid())), items.map((i) => toUuid(i.userId, 'user id')), items.map((i) => i.email)],
  );
  if (rows.length !== items.length) {
    const present = new Set(rows.map((r) => toUlid(r.user_id)));
    throw userNotFound(canonicalUlids(items.map((i) => i.userId), 'user id').filter((id) => !present.has(id)));
  }
}

export async function addEmails(sql: MasSql, features: EmailFeatures, items: ReadonlyArray<{ userId: string; email: string }>): Promise<void> {
  if (items.length === 0) return;
  await sql.transaction(async () => {
    await insertEmails(sql, features, items);
    await scheduleJobs(sql, canonicalUlids(items.map((i) => i.userId), 'user id').map((id) => provisionUserJob(id)));
  });
}

export async function removeEmails(sql: MasSql, features: EmailFeatures, emails: readonly MasEmail[]): Promise<void> {
  if (emails.length === 0) return;
  const ids = canonicalUlids(emails.map((e) => e.id), 'email id').map((id) => toUuid(id));
  await sql.transaction(async () => {
    if (features.emailConfirmationCodes) {
      // Before v1.10 these rows point at the address without ON DELETE; they are obsolete anyway.
      await sql.query('removing confirmation codes of email addresses', 'DELETE FROM user_email_confirmation_codes WHERE user_email_id = ANY($1::uuid[])', [ids]);
    }
    await sql.query('removing email addresses', 'DELETE FROM user_emails WHERE user_email_id = ANY($1::uuid[])', [ids]);
    await scheduleJobs(sql, canonicalUlids(emails.map((e) => e.userId), 'user id').map((id) => provisionUserJob(id)));
  });
}
