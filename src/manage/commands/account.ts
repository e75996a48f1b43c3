// Admin flag, lock, deactivation: state flips on users, decided per user from what MAS holds, so a
// second run reports `unchanged` instead of scheduling the same jobs again.
import type { ManageResult, MasUser } from '../model.js';
import { matrixId } from '../user-ref.js';
import { runBatches, type BulkInput } from './batches.js';
import { perUser, resolveUsers, type ManageContext } from './context.js';

/** The jobs a write schedules, named only on the database backend where we insert them. */
function jobs(ctx: ManageContext, ...names: string[]): string[] | undefined {
  return ctx.backend.kind === 'db' ? names : undefined;
}

/**
 * The message and jobs of a change made of up to two steps (lock, and deactivate), made once per
 * command for each combination: a bulk run decides once per user, and would otherwise build the
 * same sentence and list a hundred thousand times.
 */
function outcomes(ctx: ManageContext, steps: readonly [readonly [string, string], readonly [string, string]]): (first: boolean, second: boolean) => { message: string; jobs: string[] | undefined } {
  const table = [false, true].map((first) =>
    [false, true].map((second) => {
      const taken = steps.filter((_, i) => (i === 0 ? first : second));
      return { message: taken.map(([m]) => m).join(' and '), jobs: jobs(ctx, ...taken.map(([, j]) => j)) };
    }),
  );
  return (first, second) => table[first ? 1 : 0]![second ? 1 : 0]!;
}

function since(ts: string | null): string {
  return ts === null ? '' : ` since ${ts}`;
}

export async function setAdmin(ctx: ManageContext, users: BulkInput<string>, admin: boolean): Promise<ManageResult> {
  const command = admin ? 'set-admin' : 'unset-admin';
  const policyAdmins = new Set(ctx.mas.policyData.adminUsers);
  return runBatches<string, string>(ctx, command, users, async (batch) =>
    perUser<string>(await resolveUsers(ctx, batch), (user) => {
      const viaPolicy = policyAdmins.has(user.username);
      const details = viaPolicy ? { inPolicyAdminUsers: true } : undefined;
      const warning = admin ? inactiveWarning(user) : undefined;
      const extra = { ...(details ? { details } : {}), ...(warning !== undefined ? { warning } : {}) };
      if (user.admin === admin) {
        const message = admin ? 'already allowed to request admin' : 'already not allowed to request admin';
        return { subject: user.username, kind: 'unchanged', message: policyNote(message, viaPolicy, admin), ...extra };
      }
      const message = admin ? 'may now request admin rights (new sessions only)' : 'may no longer request admin rights (existing sessions keep theirs)';
      return { subject: user.username, kind: 'change', change: user.id, message: policyNote(message, viaPolicy, admin), ...extra };
    }),
  (ids) => ctx.backend.setAdmin(ids, admin));
}

/** An admin who cannot log in is probably the wrong account, or one to reactivate first. */
function inactiveWarning(user: MasUser): string | undefined {
  if (user.deactivatedAt !== null) return `the account is deactivated: it cannot log in, nor use admin rights, until reactivated (mas-tool manage reactivate ${user.username})`;
  if (user.lockedAt !== null) return `the account is locked: it cannot log in, nor use admin rights, until unlocked (mas-tool manage unlock ${user.username})`;
  return undefined;
}

function policyNote(message: string, viaPolicy: boolean, admin: boolean): string {
  if (!viaPolicy || admin) return message;
  return `${message}; but policy.data.admin_users in the MAS config still lists the user, who therefore stays an admin: remove it there`;
}

interface LockChange {
  user: MasUser;
  lock: boolean;
  deactivate: boolean;
}

export async function lock(ctx: ManageContext, users: BulkInput<string>, options: { deactivate: boolean }): Promise<ManageResult> {
  const command = options.deactivate ? 'lock --deactivate' : 'lock';
  const outcome = outcomes(ctx, [
    ['locked', 'provision-user'],
    ['deactivated (the homeserver account is deactivated, not erased)', 'deactivate-user'],
  ]);
  return runBatches<string, LockChange>(ctx, command, users, async (batch) =>
    perUser<LockChange>(await resolveUsers(ctx, batch), (user) => {
      const lockIt = user.lockedAt === null;
      const deactivateIt = options.deactivate && user.deactivatedAt === null;
      if (!lockIt && !deactivateIt) {
        const message = `already locked${since(user.lockedAt)}${options.deactivate ? ' and deactivated' : ''}`;
        return { subject: user.username, kind: 'unchanged', message };
      }
      const o = outcome(lockIt, deactivateIt);
      return { subject: user.username, kind: 'change', change: { user, lock: lockIt, deactivate: deactivateIt }, message: o.message, ...(o.jobs ? { jobs: o.jobs } : {}) };
    }),
  async (changes) => {
    const toLock = changes.filter((c) => c.lock).map((c) => c.user.id);
    const toDeactivate = changes.filter((c) => c.deactivate).map((c) => c.user.id);
    if (toLock.length > 0) await ctx.backend.lock(toLock);
    // mas-cli's `lock-user --deactivate` never erases; neither do we.
    if (toDeactivate.length > 0) await ctx.backend.deactivate(toDeactivate, false);
  });
}

interface UnlockChange {
  user: MasUser;
  unlock: boolean;
  reactivate: boolean;
}

export async function unlock(ctx: ManageContext, users: BulkInput<string>, options: { reactivate: boolean }): Promise<ManageResult> {
  const command = options.reactivate ? 'unlock --reactivate' : 'unlock';
  const outcome = outcomes(ctx, [
    ['unlocked', 'provision-user'],
    ['reactivated', 'reactivate-user'],
  ]);
  return runBatches<string, UnlockChange>(ctx, command, users, async (batch) =>
    perUser<UnlockChange>(await resolveUsers(ctx, batch), (user) => {
      const unlockIt = user.lockedAt !== null;
      const reactivateIt = options.reactivate && user.deactivatedAt !== null;
      if (!unlockIt && !reactivateIt) {
        const message = user.deactivatedAt !== null && !options.reactivate ? 'not locked (but deactivated: add --reactivate)' : `not locked${options.reactivate ? ' nor deactivated' : ''}`;
        return { subject: user.username, kind: 'unchanged', message };
      }
      // mas-cli's `unlock-user --reactivate` reactivates but leaves the lock; unlocking is what the
      // operator asked for, so --reactivate here does both.
      const o = outcome(unlockIt, reactivateIt);
      return { subject: user.username, kind: 'change', change: { user, unlock: unlockIt, reactivate: reactivateIt }, message: o.message, ...(o.jobs ? { jobs: o.jobs } : {}) };
    }),
  async (changes) => {
    const toReactivate = changes.filter((c) => c.reactivate).map((c) => c.user.id);
    const toUnlock = changes.filter((c) => c.unlock).map((c) => c.user.id);
    if (toReactivate.length > 0) await ctx.backend.reactivate(toReactivate);
    if (toUnlock.length > 0) await ctx.backend.unlock(toUnlock);
  });
}

export async function deactivate(ctx: ManageContext, users: BulkInput<string>, options: { erase: boolean }): Promise<ManageResult> {
  return runBatches<string, string>(ctx, options.erase ? 'deactivate --erase' : 'deactivate', users, async (batch) =>
    perUser<string>(await resolveUsers(ctx, batch), (user) => {
      if (user.deactivatedAt !== null) return { subject: user.username, kind: 'unchanged', message: `already deactivated${since(user.deactivatedAt)}` };
      const message = options.erase
        ? `deactivated, and ${matrixId(user.username, ctx.serverName)} will be erased on the homeserver (GDPR erasure: messages hidden from new joiners, profile removed)`
        : 'deactivated (sessions end, emails are removed; the homeserver account is deactivated, not erased)';
      const j = jobs(ctx, 'deactivate-user');
      return { subject: user.username, kind: 'change', change: user.id, message, ...(j ? { jobs: j } : {}) };
    }),
  (ids) => ctx.backend.deactivate(ids, options.erase));
}

export async function reactivate(ctx: ManageContext, users: BulkInput<string>): Promise<ManageResult> {
  return runBatches<string, string>(ctx, 'reactivate', users, async (batch) =>
    perUser<string>(await resolveUsers(ctx, batch), (user) => {
      if (user.deactivatedAt === null) return { subject: user.username, kind: 'unchanged', message: 'not deactivated' };
      const lockedNote = user.lockedAt !== null ? ' (still locked: run unlock too)' : '';
      const j = jobs(ctx, 'reactivate-user');
      return { subject: user.username, kind: 'change', change: user.id, message: `reactivated${lockedNote}`, ...(j ? { jobs: j } : {}) };
    }),
  (ids) => ctx.backend.reactivate(ids));
}
