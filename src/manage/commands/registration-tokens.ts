// registration-token list | issue | revoke | unrevoke. A token lets anyone who has it register, so
// it is a credential: `issue` hands it over once (the CLI prints it alone on stdout) and nothing
// else ever shows it. mas-cli has no way to list tokens and shows a token only when it makes one;
// `list` does the same and names tokens by id. revoke and unrevoke take the id or the token itself.
import type { Secret } from '../../secret.js';
import type { ManageResult, MasRegistrationToken, RegistrationTokenState } from '../model.js';
import { tokenState } from '../registration-token-rules.js';
import { applyPlan, type Decision, type ManageContext } from './context.js';

/** A token as listed: everything but the token itself. */
export interface TokenListRow {
  id: string;
  state: RegistrationTokenState;
  /** null: any number. */
  usageLimit: number | null;
  timesUsed: number;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

export interface TokenListing {
  tokens: TokenListRow[];
  /** When the states were judged. */
  now: string;
  /** The state asked for with --state, if any. */
  state?: RegistrationTokenState;
}

function row(t: MasRegistrationToken, now: Date): TokenListRow {
  return { id: t.id, state: tokenState(t, now), usageLimit: t.usageLimit, timesUsed: t.timesUsed, createdAt: t.createdAt, lastUsedAt: t.lastUsedAt, expiresAt: t.expiresAt, revokedAt: t.revokedAt };
}

export async function listRegistrationTokens(ctx: ManageContext, options: { state?: RegistrationTokenState; now?: Date } = {}): Promise<ManageResult> {
  const now = options.now ?? new Date();
  const all = await ctx.backend.listRegistrationTokens();
  const tokens = all.map((t) => row(t, now)).filter((t) => options.state === undefined || t.state === options.state);
  const listing: TokenListing = { tokens, now: now.toISOString(), ...(options.state !== undefined ? { state: options.state } : {}) };
  return { command: 'registration-token list', backend: ctx.backend.kind, dryRun: false, items: [], listing };
}

/** "for 1 registration, until 2026-12-31T00:00:00.000Z" */
function describeLimits(usageLimit: number | null, expiresAt: string | null): string {
  const uses = usageLimit === null ? 'for any number of registrations' : `for ${usageLimit} registration${usageLimit === 1 ? '' : 's'}`;
  return `${uses}, ${expiresAt === null ? 'never expiring' : `until ${expiresAt}`}`;
}

export interface IssueOptions {
  token?: Secret;
  usageLimit: number | null;
  expiresAt: string | null;
}

export interface IssuedRegistrationToken {
  result: ManageResult;
  /** Only when a token was issued (not on a dry run, not when the text was taken). */
  token?: Secret;
}

export async function issueRegistrationToken(ctx: ManageContext, options: IssueOptions): Promise<IssuedRegistrationToken> {
  let issued: MasRegistrationToken | undefined;
  const limits = describeLimits(options.usageLimit, options.expiresAt);
  const result = await ctx.backend.transaction(async () => {
    const taken = options.token !== undefined ? await ctx.backend.findRegistrationToken({ token: options.token.reveal() }) : undefined;
    const decision: Decision<null> =
      taken !== undefined
        ? { subject: 'new registration token', kind: 'failed', message: `MAS already has a token with that text (${taken.id}); choose another --token, or leave it out to have one made up`, details: { existingId: taken.id } }
        : { subject: 'new registration token', kind: 'change', change: null, message: `${ctx.dryRun ? 'would issue' : 'issued'} a registration token ${limits}`, details: { usageLimit: options.usageLimit, expiresAt: options.expiresAt } };
    return applyPlan(ctx, 'registration-token issue', [decision], async () => {
      issued = await ctx.backend.issueRegistrationToken({ usageLimit: options.usageLimit, expiresAt: options.expiresAt, ...(options.token !== undefined ? { token: options.token } : {}) });
    });
  });
  if (issued === undefined) return { result };
  const item = result.items[0];
  if (item !== undefined) {
    item.subject = issued.id;
    item.details = { ...item.details, id: issued.id };
  }
  return { result, token: issued.token };
}

interface Found {
  input: string;
  token?: MasRegistrationToken;
}

/** A subject for messages: the id, never the token text the operator may have typed. */
function subjectOf(f: Found): string {
  if (f.token !== undefined) return f.token.id;
  return /^[0-9A-HJKMNP-TV-Z]{26}$/i.test(f.input) ? f.input.toUpperCase() : `the token given as text (${[...f.input].length} characters)`;
}

export async function setTokensRevoked(ctx: ManageContext, inputs: readonly string[], revoke: boolean, now = new Date()): Promise<ManageResult> {
  const command = revoke ? 'registration-token revoke' : 'registration-token unrevoke';
  return ctx.backend.transaction(async () => {
    const found: Found[] = [];
    for (const input of inputs) {
      const token = await ctx.backend.findRegistrationToken({ id: input.trim(), token: input.trim() });
      found.push(token === undefined ? { input } : { input, token });
    }
    const seen = new Set<string>();
    const decisions: Array<Decision<string>> = [];
    for (const f of found) {
      const subject = subjectOf(f);
      const t = f.token;
      if (t === undefined) {
        decisions.push({ subject, kind: 'failed', message: 'no registration token has that id or text (`registration-token list` shows the ids)' });
        continue;
      }
      if (seen.has(t.id)) continue;
      seen.add(t.id);
      const state = tokenState(t, now);
      // Revoking twice is refused, not reported as done: a token that is already revoked usually
      // means the wrong token was named, and the one meant to stop is still usable.
      if (revoke && t.revokedAt !== null) {
        decisions.push({ subject, kind: 'failed', message: `already revoked since ${t.revokedAt}; nothing was changed (check that this is the token you meant)` });
      } else if (!revoke && t.revokedAt === null) {
        decisions.push({ subject, kind: 'failed', message: `not revoked (it is ${state}); nothing was changed` });
      } else if (revoke) {
        decisions.push({ subject, kind: 'change', change: t.id, message: `revoked: it can no longer be used to register (it was ${state})` });
      } else {
        const after = tokenState({ ...t, revokedAt: null }, now);
        const note = after === 'usable' ? 'it can be used to register again' : `but it stays unusable: it is ${after}`;
        decisions.push({ subject, kind: 'change', change: t.id, message: `unrevoked: ${note}` });
      }
    }
    return applyPlan(ctx, command, decisions, async (ids) => {
      for (const id of ids) await ctx.backend.setRegistrationTokenRevoked(id, revoke);
    });
  });
}
