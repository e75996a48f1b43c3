// What every manage command works with, and the two steps they share: resolving the users named on
// the command line (a batch at once, with a "did you mean" for the missing ones), and running a plan
// (decide per item from what MAS holds, then write the changes in one batch, or nothing at all).
// Bulk commands run plans batch after batch (batches.ts).
import { MasToolError } from '../../errors.js';
import type { ParsedMasConfig } from '../../config/mas.js';
import type { ManageBackend } from '../backend.js';
import { explainUnavailable, isLocalpartAvailable, type HomeserverApi } from '../homeserver.js';
import type { ItemResult, ManageResult, MasUser, UserRef } from '../model.js';
import { parseUserRef } from '../user-ref.js';

/** Where a bulk command's results go as each batch is done. */
export interface ItemSink {
  /** Called once, before the first batch's items. */
  begin(head: { command: string; backend: 'api' | 'db'; dryRun: boolean }): void;
  items(batch: readonly ItemResult[]): void;
}

export interface ManageContext {
  backend: ManageBackend;
  mas: ParsedMasConfig;
  /** matrix.homeserver */
  serverName: string;
  dryRun: boolean;
  /** Synapse's MAS API, when matrix.secret is readable; asked only when a command needs it. */
  homeserver?: HomeserverApi;
  /** Where bulk commands hand each batch's results (the CLI renders them at once); else they are collected. */
  sink?: ItemSink;
  /** Items per batch of a list given in memory (default BATCH_SIZE; tests make it small). */
  batchSize?: number;
}

/** One item's decision before anything is written. */
export type Decision<T> =
  | { subject: string; kind: 'change'; change: T; message: string; jobs?: string[]; details?: Record<string, unknown>; warning?: string }
  | { subject: string; kind: 'unchanged'; message: string; details?: Record<string, unknown>; warning?: string }
  | { subject: string; kind: 'failed'; message: string; details?: Record<string, unknown> };

/**
 * Writes the changes of a plan in one call, or nothing when an item failed (then the result says
 * why), or nothing on a dry run. The caller runs this inside backend.transaction with its reads.
 */
export async function applyPlan<T>(
  ctx: ManageContext,
  command: string,
  decisions: ReadonlyArray<Decision<T>>,
  write: (changes: T[]) => Promise<void>,
): Promise<ManageResult> {
  const failed = decisions.filter((d) => d.kind === 'failed').length;
  const changes = decisions.flatMap((d) => (d.kind === 'change' ? [d.change] : []));
  const applying = failed === 0 && !ctx.dryRun && changes.length > 0;
  if (applying) await write(changes);
  const items = decisions.map((d) => itemOf(d, applying));
  const result: ManageResult = { command, backend: ctx.backend.kind, dryRun: ctx.dryRun, items };
  if (failed > 0) result.aborted = `${failed} of ${decisions.length} item${decisions.length === 1 ? '' : 's'} failed`;
  return result;
}

/** What a decision became: `applied` says whether the batch holding it was written. */
export function itemOf<T>(d: Decision<T>, applied: boolean): ItemResult {
  const status = d.kind === 'failed' ? 'failed' : d.kind === 'unchanged' ? 'unchanged' : applied ? 'changed' : 'would-change';
  const item: ItemResult = { subject: d.subject, status, message: d.message };
  if (d.kind === 'change' && d.jobs !== undefined && d.jobs.length > 0) item.jobs = d.jobs;
  if (d.details !== undefined) item.details = d.details;
  if (d.kind !== 'failed' && d.warning !== undefined) item.warning = d.warning;
  return item;
}

export interface Resolved {
  ref: UserRef;
  user?: MasUser;
  /** Why the user is not there, with the closest username or what the homeserver knows. */
  missing?: string;
}

/** Resolves user names in one lookup; missing ones get a sentence saying what we know about them. */
export async function resolveUsers(ctx: ManageContext, inputs: readonly string[]): Promise<Resolved[]> {
  const refs = inputs.map((input) => parseUserRef(input, ctx.serverName));
  const found = await ctx.backend.findUsers(refs);
  const out: Resolved[] = [];
  for (const ref of refs) {
    const user = found.get(ref.input);
    out.push(user !== undefined ? { ref, user } : { ref, missing: await whyMissing(ctx, ref) });
  }
  return out;
}

async function whyMissing(ctx: ManageContext, ref: UserRef): Promise<string> {
  const base = `no user ${ref.username} in MAS`;
  // Someone who exists only in Synapse is usually an application-service user (a bridge puppet), or
  // one created through Synapse's admin API after the migration: say which, when Synapse can tell.
  if (ctx.homeserver !== undefined && ref.id === undefined) {
    const answer = await isLocalpartAvailable(ctx.homeserver, ref.username);
    // Only a hint: when the homeserver cannot be reached (matrix.endpoint is often internal), stop
    // asking, so that a file of unknown users does not wait out a timeout per line.
    if (answer.kind === 'unreachable') ctx.homeserver = undefined;
    if (answer.kind === 'unavailable' && answer.errcode !== 'M_INVALID_USERNAME') {
      const why = explainUnavailable(ref.username, answer);
      return `${base}: ${why.message}. ${why.hint}`;
    }
  }
  const similar = await ctx.backend.similarUsernames(ref.username, 3);
  return similar.length > 0 ? `${base} (closest: ${similar.join(', ')})` : base;
}

/**
 * For single-user commands that report an item (set-password, kill-sessions, issue-compat-token):
 * the user, or the failed item for one MAS does not have. An unknown user is a failed item, exit 10,
 * in every command, as in the bulk ones.
 */
export async function resolveOneItem(ctx: ManageContext, input: string): Promise<{ user: MasUser } | { failed: Decision<never> }> {
  const [r] = await resolveUsers(ctx, [input]);
  if (r?.user !== undefined) return { user: r.user };
  return { failed: { subject: input, kind: 'failed', message: r?.missing ?? `no user ${input} in MAS` } };
}

/** For show-user, which reports no item: the user, or MAS_TOOL_USER_NOT_FOUND with exit 10 like a failed item. */
export async function resolveOne(ctx: ManageContext, input: string): Promise<MasUser> {
  const [r] = await resolveUsers(ctx, [input]);
  if (r?.user !== undefined) return r.user;
  throw new MasToolError('MAS_TOOL_USER_NOT_FOUND', capitalise(r?.missing ?? `no user ${input} in MAS`) + '.', {
    hint: 'Name the user as alice, @alice:server or its MAS id; `mas-tool manage list-users --search TEXT` finds users.',
    exitCode: 10,
  });
}

/**
 * Usernames by id, for messages: those of the resolved users, and of the other `ids` (the holder of
 * an address, of a link), looked up in one go.
 */
export async function usernamesOf(ctx: ManageContext, resolved: readonly Resolved[], ids: Iterable<string>): Promise<Map<string, string>> {
  const names = new Map(resolved.flatMap((r) => (r.user ? [[r.user.id, r.user.username] as const] : [])));
  const unknown = [...new Set(ids)].filter((id) => !names.has(id));
  if (unknown.length === 0) return names;
  const found = await ctx.backend.findUsers(unknown.map((id) => ({ input: id, username: id, id })));
  for (const u of found.values()) names.set(u.id, u.username);
  return names;
}

export function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Decisions for a list of resolved users, with a failure for every missing one. */
export function perUser<T>(
  resolved: readonly Resolved[],
  decide: (user: MasUser, ref: UserRef) => Decision<T>,
): Array<Decision<T>> {
  const seen = new Set<string>();
  const out: Array<Decision<T>> = [];
  for (const r of resolved) {
    if (r.user === undefined) {
      out.push({ subject: r.ref.input, kind: 'failed', message: r.missing ?? 'not found' });
      continue;
    }
    // The same user twice (alice and @alice:server, or a repeated line) is done once.
    if (seen.has(r.user.id)) continue;
    seen.add(r.user.id);
    out.push(decide(r.user, r.ref));
  }
  return out;
}
