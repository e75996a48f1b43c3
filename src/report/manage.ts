// Renders what a manage command did: one line per subject, then a summary; list-admins as a table.
// Bulk commands hand over their items a batch at a time, so the same document also comes in pieces:
// a head, the items of each batch, and a tail with the summary (jsonHead, jsonItems, jsonTail).
import type { AdminListing } from '../manage/commands/admins.js';
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
  return `${mark(i.status, p)} ${p.bold(i.subject)}: ${i.message}${i.jobs ? p.dim(` [jobs: ${i.jobs.join(', ')}]`) : ''}`;
}

export function renderManage(result: ManageResult, p: Palette): string[] {
  if (result.listing !== undefined && result.command === 'list-admins') return renderAdmins(result.listing as AdminListing, p);
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
