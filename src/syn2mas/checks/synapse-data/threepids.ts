// Checks on third-party IDs: phone numbers and other non-email media, and email addresses shared
// by several users.
import { finding } from '../../../report/finding.js';
import { isMigratable } from '../../synapse-sql.js';
import { MAX_EXAMPLES, pick, plural, type DataCheck } from './context.js';

export const nonEmailThreepids: DataCheck = {
  code: 'W_NON_EMAIL_THREEPIDS',
  async run({ db, params, counts: { users, nonEmailByMedium } }) {
    const nonEmailTotal = Object.values(nonEmailByMedium).reduce((s, n) => s + n, 0);
    if (nonEmailTotal === 0) return undefined;
    let onlyPhoneExamples: string[] = [];
    if (users.only_phone > 0) {
      const { rows } = await db.query<{ name: string }>(
        `SELECT DISTINCT u.name FROM user_threepids t JOIN users u ON u.name = t.user_id
          WHERE t.medium = 'msisdn' AND ${isMigratable('u')} AND u.deactivated = 0 AND u.is_guest = 0
            AND NOT EXISTS (SELECT 1 FROM user_threepids o WHERE o.user_id = t.user_id AND o.medium <> 'msisdn')
          ORDER BY 1 LIMIT ${MAX_EXAMPLES}`,
        params,
      );
      onlyPhoneExamples = rows.map((r) => r.name);
    }
    return finding(
      'W_NON_EMAIL_THREEPIDS',
      'warning',
      `${plural(nonEmailTotal, 'third-party ID')} other than email (${Object.entries(nonEmailByMedium)
        .map(([m, n]) => `${m}: ${n}`)
        .join(', ')}) will be kept in MAS's unsupported third-party ID table, where nothing uses ${pick(nonEmailTotal, 'it', 'them')}` +
        (users.only_phone > 0 ? `; ${plural(users.only_phone, 'active user')} only ${users.only_phone === 1 ? 'has' : 'have'} phone numbers` : '') +
        '.',
      {
        fix:
          'Nothing blocks the migration. Users without an email address cannot recover their account in MAS: ask them to add one, ' +
          'or add addresses for them after the migration.',
        details: {
          byMedium: nonEmailByMedium,
          usersWithoutEmail: users.without_email,
          usersOnlyPhone: users.only_phone,
          usersOnlyPhoneExamples: onlyPhoneExamples,
        },
      },
    );
  },
};

export const duplicateEmails: DataCheck = {
  code: 'W_DUPLICATE_EMAILS',
  async run({ db, params }) {
    const { rows } = await db.query<{ addresses: number; users: number; examples: Array<{ address: string; userIds: string[] }> | null }>(
      `WITH dup AS (
         SELECT lower(t.address) AS address, array_agg(DISTINCT t.user_id ORDER BY t.user_id) AS user_ids
           FROM user_threepids t JOIN users u ON u.name = t.user_id
          WHERE t.medium = 'email' AND ${isMigratable('u')}
          GROUP BY 1 HAVING count(DISTINCT t.user_id) > 1
       )
       SELECT (SELECT count(*)::int FROM dup) AS addresses,
              (SELECT count(DISTINCT id)::int FROM dup, unnest(dup.user_ids) AS id) AS users,
              (SELECT json_agg(json_build_object('address', e.address, 'userIds', e.user_ids[1:${MAX_EXAMPLES}]) ORDER BY e.address)
                 FROM (SELECT * FROM dup ORDER BY address LIMIT ${MAX_EXAMPLES}) e) AS examples`,
      params,
    );
    const dup = rows[0];
    if (dup === undefined || dup.addresses === 0) return undefined;
    return finding(
      'W_DUPLICATE_EMAILS',
      'warning',
      `${plural(dup.addresses, 'email address', 'email addresses')} (compared ignoring case) ${dup.addresses === 1 ? 'belongs' : 'belong'} to more than one user ` +
        `(${plural(dup.users, 'user')} in all); MAS will import them on each account, so a login or recovery by email is ambiguous.`,
      {
        fix: 'Decide which account keeps each address and remove it from the others in Synapse (or in MAS after the migration).',
        details: { addresses: dup.addresses, users: dup.users, examples: dup.examples ?? [] },
      },
    );
  },
};
