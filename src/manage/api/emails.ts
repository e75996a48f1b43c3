// Email addresses over the MAS admin API (/user-emails, MAS 0.15 and later).
import type { MasEmail } from '../model.js';
import type { AdminApiClient, UserLabel } from './admin-client.js';
import { toEmail } from './resources.js';

export async function findEmails(api: AdminApiClient, query: { userIds?: readonly string[]; emails?: readonly string[] }, label: UserLabel): Promise<MasEmail[]> {
  const found = new Map<string, MasEmail>();
  // A 404 is a user that does not exist (any more): it holds no address.
  for (const id of query.userIds ?? []) {
    const list = await api.list({ path: ['user-emails'], query: [['filter[user]', id]], action: `listing the addresses of ${label(id)}`, accept: [404] }, toEmail);
    for (const e of list) found.set(e.id, e);
  }
  // MAS compares filter[email] case-insensitively.
  for (const email of query.emails ?? []) {
    const list = await api.list({ path: ['user-emails'], query: [['filter[email]', email]], action: `looking up the address ${email}` }, toEmail);
    for (const e of list) found.set(e.id, e);
  }
  return [...found.values()];
}

export async function addEmail(api: AdminApiClient, userId: string, email: string, action: string): Promise<void> {
  await api.request({
    method: 'POST',
    path: ['user-emails'],
    body: { user_id: userId, email },
    action,
    since: '0.15',
    hints: { 409: 'MAS allows an address on one user only: remove it from the user who has it first.' },
  });
}

export async function removeEmails(api: AdminApiClient, emails: readonly MasEmail[], label: UserLabel): Promise<void> {
  for (const e of emails) {
    await api.request({ method: 'DELETE', path: ['user-emails', e.id], action: `removing ${e.email} from ${label(e.userId)}`, since: '0.15' });
  }
}
