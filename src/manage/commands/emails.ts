// Email addresses. MAS keeps only confirmed addresses (since v1.10 there is no other kind), so adding
// one is also what operators know as "verify-email". Unlike mas-cli, every change schedules
// provision-user so that Synapse's copy of the addresses follows, and an address another user holds
// is refused, as the admin API does.
import type { ManageResult, MasEmail } from '../model.js';
import { validateEmail } from '../rules.js';
import { runBatches, type BulkInput } from './batches.js';
import { applyPlan, resolveUsers, usernamesOf, type Decision, type ManageContext } from './context.js';

export interface EmailRow {
  user: string;
  email: string;
}

const lower = (s: string): string => s.toLowerCase();

export async function addEmails(ctx: ManageContext, input: BulkInput<EmailRow>, command = 'add-email'): Promise<ManageResult> {
  return runBatches(ctx, command, input, (rows) => planAddEmails(ctx, rows), (items) => ctx.backend.addEmails(items));
}

async function planAddEmails(ctx: ManageContext, rows: readonly EmailRow[]): Promise<Array<Decision<{ userId: string; email: string }>>> {
  const resolved = await resolveUsers(ctx, rows.map((r) => r.user));
  const userIds = resolved.flatMap((r) => (r.user ? [r.user.id] : []));
  const existing = await ctx.backend.findEmails({ userIds, emails: rows.map((r) => r.email.trim()) });
  const usernames = await usernamesOf(ctx, resolved, existing.map((e) => e.userId));
  const claimed = new Map<string, string>(); // address -> user id claiming it in this batch
  const decisions: Array<Decision<{ userId: string; email: string }>> = [];
  rows.forEach((row, i) => {
    const r = resolved[i]!;
    const email = row.email.trim();
    const subject = `${row.user} ${email}`;
    const invalid = validateEmail(email);
    if (invalid !== undefined) return decisions.push({ subject, kind: 'failed', message: invalid });
    const user = r.user;
    if (user === undefined) return decisions.push({ subject, kind: 'failed', message: r.missing ?? 'user not found' });
    const holders = existing.filter((e) => lower(e.email) === lower(email));
    if (holders.some((e) => e.userId === user.id)) return decisions.push({ subject, kind: 'unchanged', message: 'already has this address' });
    const other = holders.find((e) => e.userId !== user.id);
    if (other !== undefined) {
      return decisions.push({ subject, kind: 'failed', message: `the address is already used by ${usernames.get(other.userId) ?? `user ${other.userId}`}; remove it there first (remove-email)` });
    }
    const claimer = claimed.get(lower(email));
    if (claimer === user.id) return decisions.push({ subject, kind: 'unchanged', message: 'listed twice' });
    if (claimer !== undefined) return decisions.push({ subject, kind: 'failed', message: `the address is also given to ${usernames.get(claimer) ?? claimer} in this batch` });
    claimed.set(lower(email), user.id);
    const jobs = ctx.backend.kind === 'db' ? ['provision-user'] : undefined;
    return decisions.push({ subject, kind: 'change', change: { userId: user.id, email }, message: 'address added (confirmed)', ...(jobs ? { jobs } : {}) });
  });
  return decisions;
}

export async function removeEmails(ctx: ManageContext, rows: readonly EmailRow[]): Promise<ManageResult> {
  return ctx.backend.transaction(async () => {
    const resolved = await resolveUsers(ctx, rows.map((r) => r.user));
    const userIds = resolved.flatMap((r) => (r.user ? [r.user.id] : []));
    const existing = await ctx.backend.findEmails({ userIds });
    const taken = new Set<string>();
    const decisions: Array<Decision<MasEmail>> = [];
    rows.forEach((row, i) => {
      const r = resolved[i]!;
      const email = row.email.trim();
      const subject = `${row.user} ${email}`;
      const user = r.user;
      if (user === undefined) return decisions.push({ subject, kind: 'failed', message: r.missing ?? 'user not found' });
      const matches = existing.filter((e) => e.userId === user.id && lower(e.email) === lower(email) && !taken.has(e.id));
      if (matches.length === 0) return decisions.push({ subject, kind: 'unchanged', message: 'does not have this address' });
      // Several rows of the same address (mas-cli never checked) all go.
      for (const m of matches) taken.add(m.id);
      const jobs = ctx.backend.kind === 'db' ? ['provision-user'] : undefined;
      for (const m of matches) decisions.push({ subject, kind: 'change', change: m, message: 'address removed', ...(jobs ? { jobs } : {}) });
      return decisions.length;
    });
    return applyPlan(ctx, 'remove-email', decisions, (emails) => ctx.backend.removeEmails(emails));
  });
}
