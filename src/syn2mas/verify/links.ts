// Compares SSO (upstream OAuth) links, keyed by MAS provider and subject through the provider mapping.
import { ulidToUUID, uuidToULID } from 'ulid';
import { decode } from '../reader.js';
import { extractLocalpart, transformExternalId } from '../transform.js';
import { bump, missing, ms, mxid, NO_IDS, num, synapseSide, unexpected, type Comparison } from './context.js';
import { mergeJoin, pairUp, sortedBy, streamSorted, type Key } from './merge.js';

export async function compareLinks(c: Comparison, mapping: ReadonlyMap<string, string>): Promise<void> {
  // The provider uuid is the key's first part; Synapse only knows its IdP id, so the mapping is
  // inlined as a CASE (NULL for an unmapped IdP: those links are not migrated).
  const uuids = new Map([...mapping].map(([idp, ulid]) => [idp, ulidToUUID(ulid).toLowerCase()]));
  const idpOf = new Map([...uuids].map(([idp, uuid]) => [uuid, idp]));
  const provider =
    uuids.size === 0
      ? 'NULL::text'
      : `CASE s.auth_provider ${[...uuids].map(([idp, uuid]) => `WHEN ${c.synapse.escapeLiteral(idp)} THEN ${c.synapse.escapeLiteral(uuid)}`).join(' ')} ELSE NULL::text END`;
  const expected = streamSorted(c.synapse, 'Synapse SSO links', synapseSide(c.queries.externalIds, [provider, 's.external_id']), 2, (r, key) => {
    const row = decode.externalId(r);
    const providerUuid = key[0];
    if (providerUuid === null || providerUuid === undefined) {
      c.collector.add('I_VERIFY_LINKS_UNMAPPED', 'upstreamLinks', undefined, `${row.userId} at ${row.authProvider}`);
      return undefined;
    }
    return { username: extractLocalpart(row.userId, c.serverName), link: transformExternalId(row, providerUuid, NO_IDS) };
  });
  const found = streamSorted(
    c.mas,
    'MAS SSO links',
    sortedBy(
      `SELECT l.upstream_oauth_provider_id::text AS k1, l.subject AS k2, u.username, ${ms('l.created_at')}
         FROM upstream_oauth_links l LEFT JOIN users u ON u.user_id = l.user_id`,
      2,
    ),
    2,
    (r) => ({ username: r[0] ?? null, createdAt: num(r[1]) ?? 0 }),
  );
  const where = (key: Key): string => {
    const uuid = key[0] ?? '';
    return `subject ${key[1] ?? ''} at ${idpOf.get(uuid) ?? `provider ${uuidToULID(uuid)}`}`;
  };
  await mergeJoin(expected, found, (key, es, fs) => {
    bump(c, 'upstreamLinks', 'expected', es.length);
    bump(c, 'upstreamLinks', 'found', fs.length);
    pairUp(
      es,
      fs,
      (e, f) => {
        if (f.username !== e.username) {
          bump(c, 'upstreamLinks', 'different');
          c.collector.add('E_VERIFY_LINKS', 'upstreamLinks', 'different', `${where(key)}: linked to ${mxid(c, f.username)} in MAS, ${mxid(c, e.username)} in Synapse`);
        }
      },
      (e) => missing(c, 'upstreamLinks', 'E_VERIFY_LINKS', e.username, `${mxid(c, e.username)} ${where(key)}`),
      (f) => unexpected(c, 'upstreamLinks', 'E_VERIFY_LINKS', { username: f.username, createdAt: f.createdAt }, 'I_VERIFY_NEW_LINKS', `${mxid(c, f.username)} ${where(key)}`),
    );
  });
}
