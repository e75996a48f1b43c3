// list-users and show-user: what `synadm user list` / `user details` give Synapse admins, from MAS.
// Read-only; the listings are data, rendered by src/report/manage.ts.
import type { ManageResult, MasEmail, MasSession, MasUpstreamLink, UserFilter } from '../model.js';
import { matrixId } from '../user-ref.js';
import { resolveOne, type ManageContext } from './context.js';

export interface UserListRow {
  username: string;
  id: string;
  createdAt: string;
  admin: boolean;
  locked: boolean;
  lockedAt: string | null;
  deactivated: boolean;
  deactivatedAt: string | null;
  guest: boolean;
  emails: string[];
  /** Active sessions by kind, and their sum. */
  sessions: { compat: number; oauth2: number; browser: number; total: number };
}

export interface UserListing {
  users: UserListRow[];
  filter: UserFilter;
  limit: number;
  /** More users match than were listed (raise --limit). */
  more: boolean;
  /** How many match in all, when the backend could tell. */
  total?: number;
}

export async function listUsers(ctx: ManageContext, filter: UserFilter, limit: number): Promise<ManageResult> {
  const page = await ctx.backend.listUsers(filter, limit);
  const users = page.users.map((u): UserListRow => {
    const s = u.activeSessions;
    return {
      username: u.username,
      id: u.id,
      createdAt: u.createdAt,
      admin: u.admin,
      locked: u.lockedAt !== null,
      lockedAt: u.lockedAt,
      deactivated: u.deactivatedAt !== null,
      deactivatedAt: u.deactivatedAt,
      guest: u.guest,
      emails: u.emails,
      sessions: { ...s, total: s.compat + s.oauth2 + s.browser },
    };
  });
  const listing: UserListing = { users, filter, limit, more: page.more, ...(page.total !== undefined ? { total: page.total } : {}) };
  return { command: 'list-users', backend: ctx.backend.kind, dryRun: false, items: [], listing };
}

export interface UserDetail {
  username: string;
  id: string;
  matrixId: string;
  createdAt: string;
  /** can_request_admin */
  admin: boolean;
  /** Listed in policy.data.admin_users of the MAS config (an admin whatever the flag says). */
  inPolicyAdminUsers: boolean;
  lockedAt: string | null;
  deactivatedAt: string | null;
  emails: Array<Pick<MasEmail, 'id' | 'email'>>;
  links: Array<Pick<MasUpstreamLink, 'id' | 'providerId' | 'subject' | 'humanAccountName'> & { providerName?: string }>;
  sessions: MasSession[];
  /** Whether finished sessions are included. */
  allSessions: boolean;
}

export async function showUser(ctx: ManageContext, input: string, options: { allSessions: boolean }): Promise<ManageResult> {
  const detail = await ctx.backend.transaction(async (): Promise<UserDetail> => {
    const user = await resolveOne(ctx, input);
    const emails = await ctx.backend.findEmails({ userIds: [user.id] });
    const links = await ctx.backend.findLinks({ userIds: [user.id] });
    const providers = links.length > 0 ? await ctx.backend.listProviders() : [];
    const sessions = await ctx.backend.userSessions(user.id, { includeFinished: options.allSessions });
    const names = new Map(providers.map((p) => [p.id, p.label]));
    return {
      username: user.username,
      id: user.id,
      matrixId: matrixId(user.username, ctx.serverName),
      createdAt: user.createdAt,
      admin: user.admin,
      inPolicyAdminUsers: ctx.mas.policyData.adminUsers.includes(user.username),
      lockedAt: user.lockedAt,
      deactivatedAt: user.deactivatedAt,
      emails: emails.map((e) => ({ id: e.id, email: e.email })).sort((a, b) => a.email.localeCompare(b.email)),
      links: links.map((l) => {
        const providerName = names.get(l.providerId);
        return { id: l.id, providerId: l.providerId, subject: l.subject, humanAccountName: l.humanAccountName, ...(providerName !== undefined ? { providerName } : {}) };
      }),
      sessions,
      allSessions: options.allSessions,
    };
  });
  return { command: 'show-user', backend: ctx.backend.kind, dryRun: false, items: [], listing: detail };
}
