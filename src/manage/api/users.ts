// Creating users and the single-user requests they are made of, over the MAS admin API. Creating is
// several requests per user (the user, its password, addresses, links, admin flag); one that fails
// part-way is reported with what was already done (incompleteError).
import type { Secret } from '../../secret.js';
import type { MasUser, NewUser } from '../model.js';
import type { AdminApiClient } from './admin-client.js';
import { addEmail } from './emails.js';
import { incompleteError } from './errors.js';
import { addLink } from './links.js';
import type { ApiResource } from './resources.js';

export async function createUsers(api: AdminApiClient, users: readonly NewUser[], asUser: (r: ApiResource) => MasUser): Promise<MasUser[]> {
  const created: MasUser[] = [];
  for (const u of users) {
    let user: MasUser | undefined;
    let step = `creating user ${u.username}`;
    try {
      user = await api.one(
        {
          method: 'POST',
          path: ['users'],
          body: { username: u.username, skip_homeserver_check: u.skipHomeserverCheck, ...(u.displayName !== undefined ? { displayname: u.displayName } : {}) },
          action: step,
          hints: { 409: 'Choose another username: MAS has it already (in any letter case), or the homeserver reserves it (an application service namespace, say).' },
        },
        asUser,
      );
      if (user === undefined) throw new Error('unreachable: POST /users accepts no error status');
      if (u.password !== undefined) {
        step = `setting the password of ${u.username}`;
        await setPassword(api, user.id, u.password, u.ignorePasswordComplexity === true, step);
      }
      for (const email of u.emails) {
        step = `adding ${email} to ${u.username}`;
        await addEmail(api, user.id, email, step);
      }
      for (const link of u.upstream) {
        step = `linking ${u.username} to subject ${link.subject} of provider ${link.providerId}`;
        await addLink(api, user.id, link.providerId, link.subject, step);
      }
      if (u.admin) {
        step = `letting ${u.username} request admin`;
        await setAdmin(api, user.id, true, step);
        user = { ...user, admin: true };
      }
      created.push(user);
    } catch (error) {
      if (user === undefined && created.length === 0) throw error;
      throw incompleteError(error, step, user, created, users.length);
    }
  }
  return created;
}

export async function setAdmin(api: AdminApiClient, userId: string, admin: boolean, action: string): Promise<void> {
  await api.request({ method: 'POST', path: ['users', userId, 'set-admin'], body: { admin }, action });
}

export async function setPassword(api: AdminApiClient, userId: string, password: Secret, skipCheck: boolean, action: string): Promise<void> {
  await api.request({
    method: 'POST',
    path: ['users', userId, 'set-password'],
    // The password stays a Secret until the body is serialised.
    body: { password, skip_password_check: skipCheck },
    action,
    hints: {
      400: 'Choose a stronger password (passwords.minimum_complexity in the MAS config), or pass --ignore-complexity.',
      403: 'Password login is disabled in the config MAS runs with (passwords.enabled: false).',
    },
  });
}
