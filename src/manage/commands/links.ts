// Upstream (SSO) links: tie an existing MAS account to a subject at an upstream provider, so that a
// user who logged in with a password (LDAP, another password provider) lands in their own account on
// the first SSO login instead of being offered a new one.
import { MasToolError } from '../../errors.js';
import type { ManageResult, MasUpstreamLink, MasUpstreamProvider } from '../model.js';
import { runBatches, type BulkInput } from './batches.js';
import { applyPlan, resolveUsers, usernamesOf, type Decision, type ManageContext } from './context.js';

export interface LinkRow {
  user: string;
  provider: string;
  subject: string;
}

type ProviderLookup = (name: string) => { provider?: MasUpstreamProvider; problem?: string };

/** A provider may be named by its MAS id, the Synapse idp_id it replaced (synapse_idp_id), or its name. */
export async function providerLookup(ctx: ManageContext): Promise<ProviderLookup> {
  const providers = await ctx.backend.listProviders();
  const byId = new Map(providers.map((p) => [p.id.toUpperCase(), p]));
  const fromConfig = new Map(ctx.mas.upstreamProviders.flatMap((p) => (p.synapseIdpId !== undefined ? [[p.synapseIdpId, p.id.toUpperCase()] as const] : [])));
  const known = providers.map((p) => (p.label !== undefined ? `${p.id} (${p.label})` : p.id)).join(', ');
  return (name) => {
    const trimmed = name.trim();
    let provider = byId.get(trimmed.toUpperCase()) ?? byId.get(fromConfig.get(trimmed) ?? '');
    if (provider === undefined) {
      const named = providers.filter((p) => p.label !== undefined && p.label.toLowerCase() === trimmed.toLowerCase());
      if (named.length > 1) return { problem: `several upstream providers are called "${trimmed}"; name it by id: ${named.map((p) => p.id).join(', ')}` };
      provider = named[0];
    }
    if (provider === undefined) {
      return { problem: `no upstream provider "${trimmed}" in MAS${providers.length > 0 ? ` (known: ${known})` : ' (MAS has none: add it under upstream_oauth2.providers and run mas-cli config sync)'}` };
    }
    if (!provider.enabled) return { provider, problem: `the upstream provider ${provider.id}${provider.label ? ` (${provider.label})` : ''} is disabled in MAS` };
    return { provider };
  };
}

interface LinkChange {
  userId: string;
  providerId: string;
  subject: string;
  orphanLinkId?: string;
}

export async function linkUpstream(ctx: ManageContext, input: BulkInput<LinkRow>): Promise<ManageResult> {
  // The providers are read once; each batch then looks up its users and subjects.
  const lookup = await providerLookup(ctx);
  return runBatches(ctx, 'link-upstream', input, (rows) => planLinks(ctx, lookup, rows), (items) => ctx.backend.addLinks(items));
}

async function planLinks(ctx: ManageContext, lookup: ProviderLookup, rows: readonly LinkRow[]): Promise<Array<Decision<LinkChange>>> {
  const resolved = await resolveUsers(ctx, rows.map((r) => r.user));
  const providers = rows.map((r) => lookup(r.provider));
  const pairs = rows.flatMap((r, i) => {
    const p = providers[i]!.provider;
    return p !== undefined && r.subject.trim() !== '' ? [{ providerId: p.id, subject: r.subject.trim() }] : [];
  });
  const links = pairs.length > 0 ? await ctx.backend.findLinks({ pairs }) : [];
  const owners = await usernamesOf(ctx, resolved, links.flatMap((l) => (l.userId !== null ? [l.userId] : [])));
  const claimed = new Map<string, string>();
  const decisions: Array<Decision<LinkChange>> = [];
  rows.forEach((row, i) => {
    const subjectText = row.subject.trim();
    const subject = `${row.user} ${row.provider} ${subjectText}`;
    const r = resolved[i]!;
    const p = providers[i]!;
    if (subjectText === '') return decisions.push({ subject, kind: 'failed', message: 'the subject is empty' });
    if (p.problem !== undefined || p.provider === undefined) return decisions.push({ subject, kind: 'failed', message: p.problem ?? 'unknown provider' });
    const user = r.user;
    if (user === undefined) return decisions.push({ subject, kind: 'failed', message: r.missing ?? 'user not found' });
    const providerId = p.provider.id;
    const link = links.find((l) => l.providerId === providerId && l.subject === subjectText);
    if (link?.userId === user.id) return decisions.push({ subject, kind: 'unchanged', message: 'already linked' });
    if (link?.userId !== undefined && link.userId !== null) {
      const owner = owners.get(link.userId) ?? `user ${link.userId}`;
      return decisions.push({ subject, kind: 'failed', message: `this subject is already linked to ${owner}; unlink it there first (unlink-upstream)` });
    }
    const key = `${providerId}\u0000${subjectText}`;
    const claimer = claimed.get(key);
    if (claimer === user.id) return decisions.push({ subject, kind: 'unchanged', message: 'listed twice' });
    if (claimer !== undefined) return decisions.push({ subject, kind: 'failed', message: `this subject is also given to ${owners.get(claimer) ?? claimer} in this batch` });
    claimed.set(key, user.id);
    const change: LinkChange = { userId: user.id, providerId, subject: subjectText, ...(link ? { orphanLinkId: link.id } : {}) };
    return decisions.push({ subject, kind: 'change', change, message: link ? 'linked (an existing unattached link was attached)' : 'linked' });
  });
  return decisions;
}

export async function unlinkUpstream(ctx: ManageContext, row: { user: string; provider: string; subject?: string }): Promise<ManageResult> {
  return ctx.backend.transaction(async () => {
    const lookup = await providerLookup(ctx);
    const found = lookup(row.provider);
    // A disabled provider's links can still be removed.
    if (found.provider === undefined) throw new MasToolError('MAS_TOOL_UNKNOWN_PROVIDER', `${found.problem ?? 'Unknown provider'}.`);
    const providerId = found.provider.id;
    const [r] = await resolveUsers(ctx, [row.user]);
    const subjectLabel = `${row.user} ${row.provider}${row.subject !== undefined ? ` ${row.subject}` : ''}`;
    if (r?.user === undefined) {
      return applyPlan<MasUpstreamLink>(ctx, 'unlink-upstream', [{ subject: subjectLabel, kind: 'failed', message: r?.missing ?? 'user not found' }], async () => undefined);
    }
    const user = r.user;
    const links = (await ctx.backend.findLinks({ userIds: [user.id] })).filter(
      (l) => l.providerId === providerId && (row.subject === undefined || l.subject === row.subject.trim()),
    );
    const decisions: Array<Decision<MasUpstreamLink>> =
      links.length === 0
        ? [{ subject: subjectLabel, kind: 'unchanged', message: 'no such link' }]
        : links.map((l) => ({ subject: `${row.user} ${row.provider} ${l.subject}`, kind: 'change' as const, change: l, message: 'unlinked' }));
    return applyPlan(ctx, 'unlink-upstream', decisions, (items) => ctx.backend.removeLinks(items));
  });
}
