// Compares email addresses and the other (unsupported) third-party IDs such as phone numbers.
import { trimmedAddress } from '../checks/emails.js';
import { decode } from '../reader.js';
import { localpart } from '../synapse-sql.js';
import { transformThreepid } from '../transform.js';
import { bool, bump, missing, ms, mxid, NO_IDS, num, synapseSide, unexpected, type Comparison } from './context.js';
import { mergeJoin, pairUp, sortedBy, streamSorted } from './merge.js';

/**
 * Emails are compared the way MAS looks an address up: ignoring case (LOWER(email) = LOWER($1)), and
 * for the address a person would type, without whitespace around it. So a migrated "Alice@Example.org"
 * matches "alice@example.org" in MAS, and a " bob@example.org " stored verbatim does not match the
 * address it stands for: MAS would not find it.
 */
export async function compareEmails(c: Comparison, confirmedAt: boolean): Promise<void> {
  const expected = streamSorted(
    c.synapse,
    'Synapse emails',
    synapseSide(c.queries.threepids, [localpart('s.user_id'), `lower(${trimmedAddress('s.address')})`], `s.medium = 'email'`),
    2,
    (r) => {
      const t = transformThreepid(decode.threepid(r), NO_IDS);
      return t.kind === 'email' ? t.email : undefined;
    },
  );
  const found = streamSorted(
    c.mas,
    'MAS emails',
    sortedBy(
      `SELECT u.username AS k1, lower(e.email) AS k2, ${ms('e.created_at')}, ${confirmedAt ? 'e.confirmed_at IS NOT NULL' : 'true'}
         FROM user_emails e JOIN users u ON u.user_id = e.user_id`,
      2,
    ),
    2,
    (r) => ({ createdAt: num(r[0]) ?? 0, confirmed: bool(r[1]) }),
  );
  await mergeJoin(expected, found, (key, es, fs) => {
    const username = key[0] ?? '';
    const example = `${mxid(c, username)} <${key[1] ?? ''}>`;
    bump(c, 'emails', 'expected', es.length);
    bump(c, 'emails', 'found', fs.length);
    pairUp(
      es,
      fs,
      (_e, f) => {
        // An empty address matches an empty one, but MAS can neither mail it nor look it up.
        if (key[1] === '') {
          bump(c, 'emails', 'different');
          c.collector.add('E_VERIFY_EMAILS', 'emails', 'different', `${example}: an empty address, which MAS cannot use`);
        } else if (!f.confirmed) {
          // Before MAS v1.10 only confirmed addresses count; migrate confirms every imported one.
          bump(c, 'emails', 'different');
          c.collector.add('E_VERIFY_EMAILS', 'emails', 'different', `${example}: not confirmed in MAS`);
        }
      },
      () => missing(c, 'emails', 'E_VERIFY_EMAILS', username, example),
      (f) => unexpected(c, 'emails', 'E_VERIFY_EMAILS', { username, createdAt: f.createdAt }, 'I_VERIFY_NEW_EMAILS', example),
    );
  });
}

export async function compareThreepids(c: Comparison): Promise<void> {
  const expected = streamSorted(
    c.synapse,
    'Synapse third-party IDs',
    synapseSide(c.queries.threepids, [localpart('s.user_id'), 's.medium', 's.address'], `s.medium IS DISTINCT FROM 'email'`),
    3,
    (r) => {
      const t = transformThreepid(decode.threepid(r), NO_IDS);
      return t.kind === 'unsupported' ? t.threepid : undefined;
    },
  );
  const found = streamSorted(
    c.mas,
    'MAS third-party IDs',
    sortedBy(
      `SELECT u.username AS k1, t.medium AS k2, t.address AS k3, ${ms('t.created_at')}
         FROM user_unsupported_third_party_ids t JOIN users u ON u.user_id = t.user_id`,
      3,
    ),
    3,
    (r) => ({ createdAt: num(r[0]) ?? 0 }),
  );
  await mergeJoin(expected, found, (key, es, fs) => {
    const username = key[0] ?? '';
    const example = `${mxid(c, username)} ${key[1] ?? ''} ${key[2] ?? ''}`;
    bump(c, 'unsupportedThreepids', 'expected', es.length);
    bump(c, 'unsupportedThreepids', 'found', fs.length);
    pairUp(
      es,
      fs,
      () => undefined,
      () => missing(c, 'unsupportedThreepids', 'E_VERIFY_THREEPIDS', username, example),
      // MAS never adds these, so a new one is not explained by MAS use.
      (f) => unexpected(c, 'unsupportedThreepids', 'E_VERIFY_THREEPIDS', { username, createdAt: f.createdAt }, undefined, example),
    );
  });
}
