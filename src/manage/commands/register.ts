// register-user: create MAS accounts, one or many (from a file, batch by batch; each batch all or
// nothing). Everything that can be checked is checked before a batch is written: the username
// rules, that neither MAS nor the homeserver has the name, the addresses and upstream subjects are
// free, the password is acceptable.
import { MasToolError } from '../../errors.js';
import type { Secret } from '../../secret.js';
import { explainUnavailable, isLocalpartAvailable } from '../homeserver.js';
import type { ManageResult, NewUser } from '../model.js';
import { validateEmail, validateUsername } from '../rules.js';
import { matrixId, parseUserRef } from '../user-ref.js';
import { runBatches, type BulkInput } from './batches.js';
import type { Decision, ManageContext } from './context.js';
import { providerLookup } from './links.js';
import { complexityProblem, passwordsDisabledError, preparePassword } from './password.js';

export interface RegisterRow {
  username: string;
  emails: string[];
  displayName?: string;
  admin: boolean;
  /** PROVIDER:SUBJECT, the provider by id, synapse_idp_id or name. */
  upstream: string[];
  password?: Secret;
}

export interface RegisterOptions {
  skipHomeserverCheck: boolean;
  ifNotExists: boolean;
  ignoreComplexity: boolean;
}

function splitUpstream(value: string): { provider: string; subject: string } | undefined {
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) return undefined;
  return { provider: value.slice(0, colon), subject: value.slice(colon + 1) };
}

function describe(row: RegisterRow, id: string): string {
  const parts = [row.password ? 'password set' : 'no password'];
  if (row.emails.length > 0) parts.push(`${row.emails.length} email${row.emails.length > 1 ? 's' : ''}`);
  if (row.upstream.length > 0) parts.push(`${row.upstream.length} upstream link${row.upstream.length > 1 ? 's' : ''}`);
  if (row.admin) parts.push('admin');
  if (row.displayName !== undefined) parts.push(`display name "${row.displayName}"`);
  return `registered ${id} (${parts.join(', ')})`;
}

export async function registerUsers(ctx: ManageContext, input: BulkInput<RegisterRow>, options: RegisterOptions): Promise<ManageResult> {
  // Only a single user on the command line carries a password (files hold none).
  if (Array.isArray(input) && (input as readonly RegisterRow[]).some((r) => r.password !== undefined) && !ctx.mas.passwords.enabled) throw passwordsDisabledError(ctx);
  const lookup = await providerLookup(ctx);
  return runBatches(ctx, 'register-user', input, (rows) => planRegistrations(ctx, lookup, rows, options), async (users) => {
    let version: number | undefined;
    for (const user of users) {
      if (user.password === undefined) continue;
      const prepared = await preparePassword(ctx, user.password);
      user.password = prepared.value;
      version = prepared.version;
    }
    await ctx.backend.createUsers(users, version);
  });
}

type ProviderLookup = Awaited<ReturnType<typeof providerLookup>>;

async function planRegistrations(ctx: ManageContext, lookup: ProviderLookup, rows: readonly RegisterRow[], options: RegisterOptions): Promise<Array<Decision<NewUser>>> {
  const localparts = rows.map((r) => parseUserRef(r.username.startsWith('@') ? r.username : `@${r.username}:${ctx.serverName}`, ctx.serverName).username);
  const existing = await ctx.backend.findUsers(localparts.map((l) => ({ input: l, username: l })));
  const pairs: Array<{ providerId: string; subject: string }> = [];
  const upstreams = rows.map((r) =>
    r.upstream.map((u) => {
      const split = splitUpstream(u);
      if (split === undefined) return { text: u, problem: `--upstream "${u}" is not PROVIDER:SUBJECT` };
      const found = lookup(split.provider);
      if (found.problem !== undefined || found.provider === undefined) return { text: u, problem: found.problem ?? 'unknown provider' };
      pairs.push({ providerId: found.provider.id, subject: split.subject });
      return { text: u, providerId: found.provider.id, subject: split.subject };
    }),
  );
  const links = pairs.length > 0 ? await ctx.backend.findLinks({ pairs }) : [];
  const allEmails = rows.flatMap((r) => r.emails);
  const emailHolders = allEmails.length > 0 ? await ctx.backend.findEmails({ emails: allEmails }) : [];

  const seenNames = new Set<string>();
  const seenEmails = new Set<string>();
  const decisions: Array<Decision<NewUser>> = [];
  for (const [i, row] of rows.entries()) {
    const localpart = localparts[i]!;
    const id = matrixId(localpart, ctx.serverName);
    const fail = (message: string) => decisions.push({ subject: localpart, kind: 'failed', message });
    const invalid = validateUsername(localpart, ctx.serverName);
    if (invalid !== undefined) { fail(invalid); continue; }
    const taken = existing.get(localpart);
    if (taken !== undefined) {
      if (options.ifNotExists) decisions.push({ subject: localpart, kind: 'unchanged', message: `already exists (as ${taken.username}); nothing else was changed`, details: { userId: taken.id } });
      else fail(`the username is taken in MAS (by ${taken.username}, ${taken.id}); pass --if-not-exists to accept an existing user`);
      continue;
    }
    if (seenNames.has(localpart.toLowerCase())) { fail('listed twice'); continue; }
    seenNames.add(localpart.toLowerCase());
    const badEmail = row.emails.map((e) => validateEmail(e)).find((p) => p !== undefined);
    if (badEmail !== undefined) { fail(badEmail); continue; }
    const usedEmail = row.emails.find((e) => emailHolders.some((h) => h.email.toLowerCase() === e.toLowerCase()) || seenEmails.has(e.toLowerCase()));
    if (usedEmail !== undefined) { fail(`the address ${usedEmail} is already used by another user`); continue; }
    row.emails.forEach((e) => seenEmails.add(e.toLowerCase()));
    const badUpstream = upstreams[i]!.find((u) => u.problem !== undefined);
    if (badUpstream?.problem !== undefined) { fail(badUpstream.problem); continue; }
    const linkedElsewhere = upstreams[i]!.find((u) => links.some((l) => l.providerId === u.providerId && l.subject === u.subject && l.userId !== null));
    if (linkedElsewhere !== undefined) { fail(`the upstream subject ${linkedElsewhere.text} is already linked to another user`); continue; }
    // Judged here on both backends: through the admin API a password MAS refuses would come after
    // the user was created, leaving it half made.
    if (row.password !== undefined && !options.ignoreComplexity) {
      const weak = complexityProblem(ctx, row.password, [localpart, ...row.emails]);
      if (weak !== undefined) { fail(weak); continue; }
    }
    const homeserverProblem = options.skipHomeserverCheck ? undefined : await askHomeserver(ctx, localpart);
    if (homeserverProblem !== undefined) { fail(homeserverProblem); continue; }
    const user: NewUser = {
      username: localpart,
      skipHomeserverCheck: options.skipHomeserverCheck,
      ignorePasswordComplexity: options.ignoreComplexity,
      admin: row.admin,
      emails: row.emails,
      upstream: upstreams[i]!.map((u) => ({ providerId: u.providerId!, subject: u.subject! })),
      ...(row.displayName !== undefined ? { displayName: row.displayName } : {}),
      ...(row.password !== undefined ? { password: row.password } : {}),
    };
    const jobs = ctx.backend.kind === 'db' ? ['provision-user'] : undefined;
    decisions.push({ subject: localpart, kind: 'change', change: user, message: describe(row, id), ...(jobs ? { jobs } : {}) });
  }
  return decisions;
}

/** undefined when the homeserver has the localpart free; else why not. Unreachable is an error: we cannot know. */
async function askHomeserver(ctx: ManageContext, localpart: string): Promise<string | undefined> {
  if (ctx.homeserver === undefined) {
    // The admin API asks the homeserver itself when it creates the user.
    if (ctx.backend.kind === 'api') return undefined;
    throw new MasToolError('MAS_TOOL_HOMESERVER_UNKNOWN', 'Cannot ask the homeserver whether the username is free: the MAS config has no matrix.secret (or secret_file).', {
      hint: 'Add matrix.secret to the MAS config, or pass --skip-homeserver-check if you know the name is free on the homeserver.',
    });
  }
  const answer = await isLocalpartAvailable(ctx.homeserver, localpart);
  if (answer.kind === 'available') return undefined;
  // Through the admin API, MAS asks the homeserver itself; matrix.endpoint is often internal and out
  // of reach from where the operator runs this, so only a clear answer counts.
  if (answer.kind === 'unreachable' && ctx.backend.kind === 'api') return undefined;
  if (answer.kind === 'unavailable') {
    const why = explainUnavailable(localpart, answer);
    return `${why.message}. ${why.hint}`;
  }
  throw new MasToolError('MAS_TOOL_HOMESERVER_UNREACHABLE', `Could not ask the homeserver whether ${localpart} is free: ${answer.message}.`, {
    hint: 'This is not a "no" from the homeserver: fix the connection to matrix.endpoint, or pass --skip-homeserver-check if you know the name is free.',
  });
}
