// Upstream providers and links over the MAS admin API (/upstream-oauth-providers, MAS 1.3 and
// later; /upstream-oauth-links, MAS 0.15 and later).
import type { MasUpstreamLink, MasUpstreamProvider } from '../model.js';
import type { AdminApiClient, UserLabel } from './admin-client.js';
import { toLink, toProvider } from './resources.js';

export function listProviders(api: AdminApiClient): Promise<MasUpstreamProvider[]> {
  return api.list({ path: ['upstream-oauth-providers'], action: 'listing the upstream providers', since: '1.3' }, toProvider);
}

export async function findLinks(
  api: AdminApiClient,
  query: { pairs?: ReadonlyArray<{ providerId: string; subject: string }>; userIds?: readonly string[] },
  label: UserLabel,
): Promise<MasUpstreamLink[]> {
  const found = new Map<string, MasUpstreamLink>();
  // A 404 is an unknown provider or user: nothing is linked to it.
  for (const { providerId, subject } of query.pairs ?? []) {
    const list = await api.list(
      { path: ['upstream-oauth-links'], query: [['filter[provider]', providerId], ['filter[subject]', subject]], action: `looking up subject ${subject} of provider ${providerId}`, accept: [404] },
      toLink,
    );
    for (const l of list) found.set(l.id, l);
  }
  for (const id of query.userIds ?? []) {
    const list = await api.list({ path: ['upstream-oauth-links'], query: [['filter[user]', id]], action: `listing the upstream links of ${label(id)}`, accept: [404] }, toLink);
    for (const l of list) found.set(l.id, l);
  }
  return [...found.values()];
}

export async function addLink(api: AdminApiClient, userId: string, providerId: string, subject: string, action: string): Promise<void> {
  // MAS attaches an existing link without a user (answering 200) instead of making a second one.
  await api.request({
    method: 'POST',
    path: ['upstream-oauth-links'],
    body: { user_id: userId, provider_id: providerId, subject },
    action,
    since: '0.15',
    hints: { 409: 'That upstream account is linked to another user already: unlink it there first.' },
  });
}

export async function removeLinks(api: AdminApiClient, links: readonly MasUpstreamLink[], label: UserLabel): Promise<void> {
  for (const l of links) {
    const owner = l.userId === null ? '' : ` from ${label(l.userId)}`;
    await api.request({ method: 'DELETE', path: ['upstream-oauth-links', l.id], action: `removing the link to subject ${l.subject}${owner}`, since: '0.15' });
  }
}
