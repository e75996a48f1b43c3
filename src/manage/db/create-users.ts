// Registering users straight into MAS, as `mas-cli manage register-user` does but for a whole batch
// in a fixed number of statements: users (with can_request_admin), their passwords, addresses and
// upstream links, then one provision-user job each, which creates the account on Synapse with the
// display name. All or nothing: the caller's transaction, or one of our own.
import { MasToolError } from '../../errors.js';
import type { MasUser, NewUser } from '../model.js';
import { insertEmails, type EmailFeatures } from './emails.js';
import { newUlid, toUlid, toUuid } from './ids.js';
import { provisionUserJob, scheduleJobs } from './jobs.js';
import { linkUsers } from './links.js';
import type { MasSql } from './sql.js';
import { USER_COLUMNS, toMasUser, type UserRow } from './users.js';

function usersExist(pairs: ReadonlyArray<{ wanted: string; existing: string }>): MasToolError {
  const names = pairs.map((p) => (p.wanted === p.existing ? `"${p.wanted}"` : `"${p.wanted}" (as "${p.existing}")`));
  return new MasToolError('MAS_TOOL_USER_EXISTS', `${names.length === 1 ? 'User' : 'Users'} ${names.join(', ')} already exist${names.length === 1 ? 's' : ''} in MAS.`, {
    hint: 'MAS usernames are unique regardless of case; choose another username, or manage the existing user.',
    details: { usernames: pairs.map((p) => p.wanted) },
  });
}

/**
 * Refuses names MAS already has, compared case-insensitively as MAS compares them when it looks a
 * user up (two names that differ only by case make both ambiguous), and names given twice.
 */
async function checkUsernamesFree(sql: MasSql, usernames: readonly string[]): Promise<void> {
  const seen = new Map<string, string>();
  const twice: Array<{ wanted: string; existing: string }> = [];
  for (const name of usernames) {
    const key = name.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) twice.push({ wanted: name, existing: first });
    else seen.set(key, name);
  }
  if (twice.length > 0) {
    throw new MasToolError('MAS_TOOL_USER_EXISTS', `The batch names ${twice.map((t) => `"${t.wanted}"`).join(', ')} more than once (usernames are compared regardless of case).`, {
      hint: 'Remove the duplicate lines.',
      details: { usernames: twice.map((t) => t.wanted) },
    });
  }
  const { rows } = await sql.query<{ wanted: string; existing: string }>(
    'checking the usernames are free',
    `SELECT w.username AS wanted, u.username AS existing
       FROM unnest($1::text[]) WITH ORDINALITY AS w(username, ord)
       JOIN users u ON lower(u.username) = lower(w.username)
      ORDER BY w.ord`,
    [usernames],
  );
  if (rows.length > 0) throw usersExist(rows);
}

export async function createUsers(sql: MasSql, features: EmailFeatures, users: readonly NewUser[], passwordVersion?: number): Promise<MasUser[]> {
  if (users.length === 0) return [];
  if (passwordVersion === undefined && users.some((u) => u.password !== undefined)) {
    throw new Error('createUsers: a password hash needs the version of the scheme that made it');
  }
  return sql.transaction(async () => {
    await checkUsernamesFree(sql, users.map((u) => u.username));
    const ids = users.map(() => newUlid());
    // ON CONFLICT: a user created meanwhile (by MAS itself) is reported, not a unique-violation error.
    const { rows } = await sql.query<UserRow>(
      'creating users',
      `INSERT INTO users (user_id, username, created_at, can_request_admin)
       SELECT n.id, n.username, now(), n.admin FROM unnest($1::uuid[], $2::text[], $3::boolean[]) AS n(id, username, admin)
       ON CONFLICT (username) DO NOTHING
       RETURNING ${USER_COLUMNS}`,
      [ids.map((id) => toUuid(id)), users.map((u) => u.username), users.map((u) => u.admin)],
    );
    if (rows.length !== users.length) {
      const created = new Set(rows.map((r) => r.username));
      throw usersExist(users.filter((u) => !created.has(u.username)).map((u) => ({ wanted: u.username, existing: u.username })));
    }
    const withPassword = users.flatMap((u, i) => (u.password !== undefined ? [{ userId: ids[i] as string, hash: u.password }] : []));
    if (withPassword.length > 0) {
      await sql.query(
        'setting the passwords of new users',
        `INSERT INTO user_passwords (user_password_id, user_id, hashed_password, version, upgraded_from_id, created_at)
         SELECT p.id, p.user_id, p.hash, $4, NULL, now() FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS p(id, user_id, hash)`,
        [withPassword.map(() => toUuid(newUlid())), withPassword.map((p) => toUuid(p.userId)), withPassword.map((p) => p.hash.reveal()), passwordVersion],
      );
    }
    await insertEmails(sql, features, users.flatMap((u, i) => u.emails.map((email) => ({ userId: ids[i] as string, email }))));
    await linkUsers(sql, users.flatMap((u, i) => u.upstream.map((l) => ({ userId: ids[i] as string, providerId: l.providerId, subject: l.subject }))));
    await scheduleJobs(sql, users.map((u, i) => provisionUserJob(ids[i] as string, u.displayName ?? null)));
    const byId = new Map(rows.map((r) => [toUlid(r.user_id), toMasUser(r)]));
    return ids.map((id) => byId.get(id)).filter((u): u is MasUser => u !== undefined);
  });
}
