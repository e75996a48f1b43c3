// Upstream OAuth links: which account at which identity provider logs in as which MAS user. A link
// can exist without a user (MAS keeps it after a login that did not finish registering); linking a
// user to that subject attaches the existing row, as MAS's admin API does, since (provider, subject)
// is unique.
import { MasToolError } from '../../errors.js';
import type { MasUpstreamLink, MasUpstreamProvider } from '../model.js';
import { canonicalUlids, newUlid, toUlid, toUuid } from './ids.js';
import { userNotFound, type MasSql } from './sql.js';

export interface LinkItem {
  userId: string;
  providerId: string;
  subject: string;
  orphanLinkId?: string;
}

interface LinkRow {
  upstream_oauth_link_id: string;
  upstream_oauth_provider_id: string;
  subject: string;
  user_id: string | null;
  human_account_name: string | null;
}

const LINK_COLUMNS = 'upstream_oauth_link_id, upstream_oauth_provider_id, subject, user_id, human_account_name';

function toLink(row: LinkRow): MasUpstreamLink {
  return {
    id: toUlid(row.upstream_oauth_link_id),
    providerId: toUlid(row.upstream_oauth_provider_id),
    subject: row.subject,
    userId: row.user_id === null ? null : toUlid(row.user_id),
    humanAccountName: row.human_account_name,
  };
}

export async function listProviders(sql: MasSql): Promise<MasUpstreamProvider[]> {
  const { rows } = await sql.query<{ id: string; enabled: boolean; label: string | null }>(
    'listing the upstream providers',
    `SELECT upstream_oauth_provider_id AS id, disabled_at IS NULL AS enabled, coalesce(human_name, issuer) AS label
       FROM upstream_oauth_providers ORDER BY upstream_oauth_provider_id`,
  );
  return rows.map((r) => ({ id: toUlid(r.id), enabled: r.enabled, ...(r.label !== null ? { label: r.label } : {}) }));
}

export async function findLinks(
  sql: MasSql,
  query: { pairs?: ReadonlyArray<{ providerId: string; subject: string }>; userIds?: readonly string[] },
): Promise<MasUpstreamLink[]> {
  const pairs = query.pairs ?? [];
  const userIds = (query.userIds ?? []).map((id) => toUuid(id, 'user id'));
  if (pairs.length === 0 && userIds.length === 0) return [];
  const { rows } = await sql.query<LinkRow>(
    'looking upstream links up',
    `SELECT ${LINK_COLUMNS} FROM upstream_oauth_links
      WHERE (upstream_oauth_provider_id, subject) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))
     UNION
     SELECT ${LINK_COLUMNS} FROM upstream_oauth_links WHERE user_id = ANY($3::uuid[])
     ORDER BY upstream_oauth_link_id`,
    [pairs.map((p) => toUuid(p.providerId, 'provider id')), pairs.map((p) => p.subject), userIds],
  );
  return rows.map(toLink);
}

function linkTaken(subject: string, providerId: string, owner: string): MasToolError {
  return new MasToolError('MAS_TOOL_LINK_TAKEN', `The upstream account "${subject}" of provider ${providerId} is already linked to the MAS user ${owner}.`, {
    hint: 'Unlink it from that user first if it really belongs to another one.',
    details: { providerId, subject, linkedTo: owner },
  });
}

/**
 * Links users to upstream subjects: attaches the existing link of that subject when it has no user
 * (or the one named by orphanLinkId), creates the others, and refuses a subject linked to someone
 * else. A subject already linked to the same user is left as it is.
 */
export async function linkUsers(sql: MasSql, items: readonly LinkItem[]): Promise<void> {
  if (items.length === 0) return;
  const { rows: existing } = await sql.query<{ ord: string; provider_known: boolean; link_id: string | null; owner_id: string | null; owner: string | null }>(
    'looking upstream links up',
    `SELECT i.ord::text AS ord, p.upstream_oauth_provider_id IS NOT NULL AS provider_known,
            l.upstream_oauth_link_id AS link_id, l.user_id AS owner_id, u.username AS owner
       FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS i(provider_id, subject, ord)
       LEFT JOIN upstream_oauth_providers p ON p.upstream_oauth_provider_id = i.provider_id
       LEFT JOIN upstream_oauth_links l ON l.upstream_oauth_provider_id = i.provider_id AND l.subject = i.subject
       LEFT JOIN users u ON u.user_id = l.user_id`,
    [items.map((i) => toUuid(i.providerId, 'provider id')), items.map((i) => i.subject)],
  );
  const attach: Array<{ linkId: string; userId: string; item: LinkItem }> = [];
  const create: LinkItem[] = [];
  const claimed = new Map<string, string>();
  for (const row of existing) {
    const item = items[Number(row.ord) - 1];
    if (item === undefined) continue;
    const userId = toUuid(item.userId, 'user id');
    const key = `${toUuid(item.providerId)}\u0000${item.subject}`;
    const claimant = claimed.get(key);
    if (claimant !== undefined) {
      if (claimant !== userId) throw linkTaken(item.subject, item.providerId, `${toUlid(claimant)} (named twice in this batch)`);
      continue;
    }
    claimed.set(key, userId);
    if (row.owner_id !== null) {
      if (row.owner_id === userId) continue;
      throw linkTaken(item.subject, item.providerId, row.owner ?? toUlid(row.owner_id));
    }
    const linkId = item.orphanLinkId !== undefined ? toUuid(item.orphanLinkId, 'link id') : row.link_id;
    if (linkId !== null) attach.push({ linkId, userId, item });
    else if (!row.provider_known) {
      throw new MasToolError('MAS_TOOL_UNKNOWN_PROVIDER', `MAS has no upstream provider ${item.providerId}.`, {
        hint: 'Use the id of a provider in the upstream_oauth2 section of the MAS config (`mas-cli config sync` loads them into the database).',
        details: { providerId: item.providerId },
      });
    } else create.push(item);
  }
  await attachLinks(sql, attach);
  await createLinks(sql, create);
}

async function attachLinks(sql: MasSql, attach: ReadonlyArray<{ linkId: string; userId: string; item: LinkItem }>): Promise<void> {
  if (attach.length === 0) return;
  // Only a link that still has no user: one attached meanwhile (a login racing us) is refused.
  const { rows } = await sql.query<{ upstream_oauth_link_id: string }>(
    'attaching upstream links to users',
    `UPDATE upstream_oauth_links l SET user_id = a.user_id
       FROM unnest($1::uuid[], $2::uuid[]) AS a(link_id, user_id)
      WHERE l.upstream_oauth_link_id = a.link_id AND l.user_id IS NULL
     RETURNING l.upstream_oauth_link_id`,
    [attach.map((a) => a.linkId), attach.map((a) => a.userId)],
  );
  const done = new Set(rows.map((r) => r.upstream_oauth_link_id));
  const lost = attach.find((a) => !done.has(a.linkId));
  if (lost !== undefined) throw linkTaken(lost.item.subject, lost.item.providerId, 'another user (or the link no longer exists)');
}

async function createLinks(sql: MasSql, create: readonly LinkItem[]): Promise<void> {
  if (create.length === 0) return;
  const { rows } = await sql.query<{ user_id: string }>(
    'linking users to upstream accounts',
    `INSERT INTO upstream_oauth_links (upstream_oauth_link_id, upstream_oauth_provider_id, user_id, subject, human_account_name, created_at)
     SELECT c.id, c.provider_id, u.user_id, c.subject, NULL, now()
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[]) AS c(id, provider_id, user_id, subject)
       JOIN users u ON u.user_id = c.user_id
     RETURNING user_id`,
    [create.map(() => toUuid(newUlid())), create.map((c) => toUuid(c.providerId)), create.map((c) => toUuid(c.userId)), create.map((c) => c.subject)],
  );
  if (rows.length !== create.length) {
    const present = new Set(rows.map((r) => toUlid(r.user_id)));
    throw userNotFound(canonicalUlids(create.map((c) => c.userId)).filter((id) => !present.has(id)));
  }
}

/**
 * Deletes links as MAS's admin API does: the authorization sessions that went through a link keep
 * existing (they are the history of logins, and the foreign key has no ON DELETE), marked unlinked
 * at this moment with their link id cleared, and then the link goes.
 */
export async function removeLinks(sql: MasSql, links: readonly MasUpstreamLink[]): Promise<void> {
  if (links.length === 0) return;
  const ids = canonicalUlids(links.map((l) => l.id), 'link id').map((id) => toUuid(id));
  await sql.transaction(async () => {
    await sql.query(
      'unlinking upstream authorization sessions',
      `UPDATE upstream_oauth_authorization_sessions SET upstream_oauth_link_id = NULL, unlinked_at = now()
        WHERE upstream_oauth_link_id = ANY($1::uuid[])`,
      [ids],
    );
    await sql.query('removing upstream links', 'DELETE FROM upstream_oauth_links WHERE upstream_oauth_link_id = ANY($1::uuid[])', [ids]);
  });
}
