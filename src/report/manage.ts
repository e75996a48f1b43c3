// Renders what a manage command did: one line per subject, then a summary; list-admins as a table.
// Bulk commands hand over their items a batch at a time, so the same document also comes in pieces:
// a head, the items of each batch, and a tail with the summary (jsonHead, jsonItems, jsonTail).
import type { AdminListing } from '../manage/commands/admins.js';
import type { TokenListing } from '../manage/commands/registration-tokens.js';
import type { UserDetail, UserListing } from '../manage/commands/users.js';
import type { ItemResult, ItemStatus, ManageResult, ManageSummary } from '../manage/model.js';
import type { Palette } from './output.js';

export type { ManageSummary } from '../manage/model.js';

export function summarise(result: ManageResult): ManageSummary {
  if (result.summary !== undefined) return result.summary;
  const count = (s: ItemStatus) => result.items.filter((i) => i.status === s).length;
  return { changed: count('changed'), unchanged: count('unchanged'), wouldChange: count('would-change'), failed: count('failed') };
}

/** The JSON document of a manage command (the token slot is filled by the CLI, nowhere else). */
export function manageJson(result: ManageResult, exitCode: number): Record<string, unknown> {
  const { itemsStreamed: _streamed, ...rest } = result;
  return { ok: exitCode === 0, exitCode, ...rest, summary: summarise(result) };
}

/** The start of a streamed manage document, up to the opening of `items`. */
export function jsonHead(head: { command: string; backend: string; dryRun: boolean }): string {
  return `{\n  "command": ${JSON.stringify(head.command)},\n  "backend": ${JSON.stringify(head.backend)},\n  "dryRun": ${head.dryRun},\n  "items": [`;
}

/** One batch of items of a streamed document; `first` for the first batch (no leading comma). */
export function jsonItems(items: readonly ItemResult[], first: boolean): string {
  if (items.length === 0) return '';
  return `${first ? '' : ','}\n    ${items.map((i) => JSON.stringify(i)).join(',\n    ')}`;
}

/** The end of a streamed document: the summary and outcome, or the error that stopped the command. */
export function jsonTail(result: ManageResult | undefined, exitCode: number, error?: unknown): string {
  const tail: Record<string, unknown> = {};
  if (result !== undefined) {
    tail.summary = summarise(result);
    if (result.aborted !== undefined) tail.aborted = result.aborted;
  }
  tail.ok = exitCode === 0;
  tail.exitCode = exitCode;
  if (error !== undefined) tail.error = error;
  const body = JSON.stringify(tail, null, 2).slice(1, -1).replace(/\n$/, '');
  return `\n  ],${body}\n}\n`;
}

function mark(status: ItemStatus, p: Palette): string {
  switch (status) {
    case 'changed':
      return p.green('changed  ');
    case 'unchanged':
      return p.dim('unchanged');
    case 'would-change':
      return p.yellow('would    ');
    case 'failed':
      return p.red('failed   ');
  }
}

export function renderItem(i: ItemResult, p: Palette): string {
  return `${mark(i.status, p)} ${p.bold(i.subject)}: ${i.message}${i.jobs ? p.dim(` [jobs: ${i.jobs.join(', ')}]`) : ''}${i.warning !== undefined ? ` ${p.yellow('warning:')} ${i.warning}` : ''}`;
}

export function renderManage(result: ManageResult, p: Palette): string[] {
  if (result.listing !== undefined) {
    if (result.command === 'list-admins') return renderAdmins(result.listing as AdminListing, p);
    if (result.command === 'list-users') return renderUsers(result.listing as UserListing, p);
    if (result.command === 'show-user') return renderUser(result.listing as UserDetail, p);
    if (result.command === 'registration-token list') return renderTokens(result.listing as TokenListing, p);
  }
  return [...result.items.map((i) => renderItem(i, p)), ...renderSummary(result, p)];
}

/** The last line: what was done, or why something was not. */
export function renderSummary(result: ManageResult, p: Palette): string[] {
  const lines: string[] = [];
  const s = summarise(result);
  const parts = [
    s.changed > 0 ? `${s.changed} changed` : undefined,
    s.wouldChange > 0 ? `${s.wouldChange} would change` : undefined,
    s.unchanged > 0 ? `${s.unchanged} unchanged` : undefined,
    s.failed > 0 ? p.red(`${s.failed} failed`) : undefined,
  ].filter(Boolean);
  const via = result.backend === 'api' ? 'the MAS admin API' : 'the MAS database';
  if (result.aborted !== undefined && s.changed > 0) {
    lines.push(
      p.red(
        `Stopped writing at the first batch with a failure: ${result.aborted}. The ${s.changed} changed item${s.changed === 1 ? ' was' : 's were'} written in the batches before it; nothing from that batch on was. Fix the failed lines and run the command again (what was written then shows as unchanged).`,
      ),
    );
  } else if (result.aborted !== undefined) lines.push(p.red(`Nothing was changed: ${result.aborted}. Fix the failed lines and run the command again.`));
  else if (result.dryRun) lines.push(p.yellow(`Dry run: nothing was written (${parts.join(', ') || 'nothing to do'}; via ${via}).`));
  else lines.push(`${parts.join(', ') || 'nothing to do'} (via ${via}).`);
  return lines;
}

function renderAdmins(listing: AdminListing, p: Palette): string[] {
  const withSynapse = listing.onlyInSynapse !== undefined;
  if (listing.admins.length === 0) return ['No user can request admin rights in MAS, and policy.data.admin_users is empty.'];
  const header = ['user', 'MAS admin', 'policy admin_users', ...(withSynapse ? ['Synapse admin'] : []), 'state'];
  const yes = (b: boolean | undefined) => (b ? 'yes' : '-');
  const rows = listing.admins.map((a) => [
    a.username,
    a.id === undefined ? 'not in MAS' : yes(a.canRequestAdmin),
    yes(a.inPolicyAdminUsers),
    ...(withSynapse ? [yes(a.synapseAdmin)] : []),
    a.deactivated ? 'deactivated' : a.locked ? 'locked' : a.id === undefined ? '-' : 'active',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [p.bold(line(header)), ...rows.map(line)];
  if (withSynapse) {
    if ((listing.onlyInSynapse ?? []).length > 0) {
      out.push('', p.yellow(`Admins in Synapse who cannot request admin in MAS: ${listing.onlyInSynapse!.join(', ')}.`), `Run \`mas-tool manage restore-admins --synapse-config ...\` to give them can_request_admin.`);
    }
    if ((listing.onlyInMas ?? []).length > 0) out.push('', `Admins in MAS who were not admins in Synapse: ${listing.onlyInMas!.join(', ')}.`);
    if ((listing.onlyInSynapse ?? []).length === 0 && (listing.onlyInMas ?? []).length === 0) out.push('', p.green('MAS and Synapse agree on who is an admin.'));
  }
  return out;
}

/** Columns padded to their widest cell; the header in bold. */
function table(header: string[], rows: string[][], p: Palette): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [p.bold(line(header)), ...rows.map(line)];
}

/** "2026-11-20 09:12" (UTC): enough for a table; --json has the exact times. */
function short(ts: string | null): string {
  if (ts === null) return '-';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(ts);
  return m === null ? ts : `${m[1]} ${m[2]}`;
}

const count = (n: number, word: string): string => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

function userState(u: { lockedAt: string | null; deactivatedAt: string | null }): string {
  const parts = [u.lockedAt !== null ? 'locked' : undefined, u.deactivatedAt !== null ? 'deactivated' : undefined].filter((x): x is string => x !== undefined);
  return parts.length === 0 ? 'active' : parts.join(', ');
}

function renderUsers(listing: UserListing, p: Palette): string[] {
  if (listing.users.length === 0) return ['No user matches.'];
  const rows = listing.users.map((u) => [
    u.username,
    short(u.createdAt),
    u.admin ? 'yes' : '-',
    `${userState(u)}${u.guest ? ', guest' : ''}`,
    u.emails.length === 0 ? '-' : u.emails.join(', '),
    String(u.sessions.total),
  ]);
  const out = table(['user', 'created (UTC)', 'admin', 'state', 'emails', 'active sessions'], rows, p);
  const shown = count(listing.users.length, 'user');
  if (listing.more) {
    const of = listing.total !== undefined ? ` of ${listing.total.toLocaleString('en-US')}` : '';
    out.push('', p.yellow(`${shown} shown${of}, oldest first: more match; raise --limit (now ${listing.limit}) or narrow the filters to see the others.`));
  } else out.push('', `${shown}.`);
  return out;
}

function renderUser(u: UserDetail, p: Palette): string[] {
  const admin = u.admin ? 'yes' : 'no';
  const policy = u.inPolicyAdminUsers ? ' (and listed in policy.data.admin_users, so an admin whatever the flag)' : '';
  const state = [u.lockedAt !== null ? `locked since ${u.lockedAt}` : undefined, u.deactivatedAt !== null ? `deactivated since ${u.deactivatedAt}` : undefined].filter(Boolean).join(', ') || 'active';
  const out = [
    `${p.bold(u.matrixId)}  ${p.dim(u.id)}`,
    `created:        ${u.createdAt}`,
    `state:          ${state}`,
    `may request admin: ${admin}${policy}`,
    `emails:         ${u.emails.length === 0 ? '-' : u.emails.map((e) => e.email).join(', ')}`,
  ];
  if (u.links.length === 0) out.push('upstream links: -');
  else {
    out.push('upstream links:');
    for (const l of u.links) out.push(`  ${l.providerName ?? l.providerId}: subject ${l.subject}${l.humanAccountName !== null ? ` (${l.humanAccountName})` : ''}`);
  }
  const label = u.allSessions ? 'sessions' : 'active sessions';
  if (u.sessions.length === 0) {
    out.push(`${label}: none`);
    return out;
  }
  out.push('', p.bold(`${label} (${u.sessions.length}), last seen first:`));
  const rows = u.sessions.map((s) => [
    s.kind === 'oauth2' ? 'OAuth 2.0' : s.kind === 'compat' ? 'compat' : 'browser',
    s.deviceId ?? '-',
    short(s.lastActiveAt),
    s.lastActiveIp ?? '-',
    s.synapseAdmin === null ? '?' : s.synapseAdmin ? 'yes' : '-',
    s.finishedAt !== null ? `finished ${short(s.finishedAt)}` : 'active',
    s.kind === 'oauth2' ? (s.clientName ?? s.clientId ?? '-') : (s.userAgent ?? '-'),
  ]);
  out.push(...table(['kind', 'device', 'last seen (UTC)', 'IP', 'Synapse admin', 'state', 'client or user agent'], rows, p));
  if (u.sessions.some((s) => s.synapseAdmin === null)) out.push(p.dim('Synapse admin "?": the admin API does not show whether a compatibility session has admin rights (--via db does).'));
  return out;
}

function renderTokens(listing: TokenListing, p: Palette): string[] {
  if (listing.tokens.length === 0) return [listing.state !== undefined ? `No registration token is ${listing.state}.` : 'MAS has no registration tokens. `mas-tool manage registration-token issue` makes one.'];
  const rows = listing.tokens.map((t) => [t.id, t.state, `${t.timesUsed}/${t.usageLimit ?? 'unlimited'}`, short(t.expiresAt), short(t.lastUsedAt), short(t.createdAt)]);
  const out = table(['id', 'state', 'used', 'expires (UTC)', 'last used', 'created'], rows, p);
  const by = new Map<string, number>();
  for (const t of listing.tokens) by.set(t.state, (by.get(t.state) ?? 0) + 1);
  const parts = [...by].map(([state, n]) => `${n} ${state}`).join(', ');
  out.push('', `${count(listing.tokens.length, 'token')}: ${parts}. The tokens themselves are not shown: only \`registration-token issue\` prints one, once.`);
  return out;
}

