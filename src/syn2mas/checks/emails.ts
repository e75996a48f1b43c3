// Checks on the email addresses themselves, of the users that will be migrated. The migration
// writes them verbatim (as mas-cli syn2mas does); what matters is what MAS does with them after:
//   - MAS refuses an address that is not one (its admin API and its pages answer 400 "invalid email
//     address"): an empty one, one with whitespace around it, one not of the form local@domain.
//     Stored anyway, it cannot be used: no mail reaches it, and a lookup by the real address misses
//     it. E_INVALID_EMAILS.
//   - MAS looks an address up ignoring case (LOWER(email) = LOWER($1), with an index on lower(email))
//     and, for a login or a recovery by address, only when exactly one row matches. So capital
//     letters alone are fine (I_MIXED_CASE_EMAILS, for information), but one user holding the same
//     address in two cases can no longer use it to log in or recover (W_CASE_DUPLICATE_EMAILS; the
//     same address on several users is W_DUPLICATE_EMAILS, in synapse-data/threepids.ts).
// Synapse canonicalises addresses since 1.17 (stripped, domain and local part lower-cased); older
// rows may be anything. mas-tool never writes to Synapse: the fixes are SQL for the operator to run.
import { finding } from '../../report/finding.js';
import { isMigratable } from '../synapse-sql.js';
import { MAX_EXAMPLES, pick, plural, type DataCheck } from './synapse-data/context.js';

/** The address without whitespace around it, as SQL: what a person would type. */
export function trimmedAddress(column: string): string {
  return `regexp_replace(${column}, '^[[:space:]]+|[[:space:]]+$', '', 'g')`;
}

/** The email rows of users that will be migrated (aliases t and u; parameter $1 is the server name). */
const MIGRATED_EMAILS = `user_threepids t JOIN users u ON u.name = t.user_id WHERE t.medium = 'email' AND ${isMigratable('u')}`;

/** Why MAS refuses an address, or NULL. */
const PROBLEM = `CASE
    WHEN ${trimmedAddress('t.address')} = '' THEN 'empty'
    WHEN t.address <> ${trimmedAddress('t.address')} THEN 'whitespace'
    WHEN t.address !~ '^[^@[:space:]]+@[^@[:space:]]+$' THEN 'malformed' END`;

const PROBLEM_TEXT: Record<string, string> = { empty: 'empty', whitespace: 'with whitespace around it', malformed: 'not of the form local@domain' };

const INVALID_EMAILS_SQL = `BEGIN;
-- Empty addresses: nothing to keep.
DELETE FROM user_threepids WHERE medium = 'email' AND ${trimmedAddress('address')} = '';
-- Whitespace around an address: drop the copy where the user has it without, trim the others
-- (unless another row holds the trimmed address).
DELETE FROM user_threepids t USING user_threepids k
 WHERE t.medium = 'email' AND k.medium = 'email' AND k.user_id = t.user_id
   AND t.address <> ${trimmedAddress('t.address')} AND k.address = ${trimmedAddress('t.address')};
UPDATE user_threepids t SET address = ${trimmedAddress('t.address')}
 WHERE t.medium = 'email' AND t.address <> ${trimmedAddress('t.address')}
   AND NOT EXISTS (SELECT 1 FROM user_threepids o WHERE o.medium = 'email' AND o.address = ${trimmedAddress('t.address')});
COMMIT;
-- What the check still lists after this needs a look by hand.`;

export const invalidEmails: DataCheck = {
  code: 'E_INVALID_EMAILS',
  async run({ db, params }) {
    const { rows } = await db.query<{ problem: string; n: number; examples: Array<{ userId: string; address: string }> }>(
      `SELECT problem, count(*)::int AS n,
              json_agg(json_build_object('userId', user_id, 'address', address) ORDER BY user_id, address) FILTER (WHERE rn <= ${MAX_EXAMPLES}) AS examples
         FROM (SELECT t.user_id, t.address, ${PROBLEM} AS problem,
                      row_number() OVER (PARTITION BY ${PROBLEM} ORDER BY t.user_id, t.address) AS rn
                 FROM ${MIGRATED_EMAILS}) e
        WHERE problem IS NOT NULL
        GROUP BY problem ORDER BY problem`,
      params,
    );
    if (rows.length === 0) return undefined;
    const total = rows.reduce((s, r) => s + r.n, 0);
    const byProblem = Object.fromEntries(rows.map((r) => [r.problem, r.n]));
    return finding(
      'E_INVALID_EMAILS',
      'error',
      `${plural(total, 'email address', 'email addresses')} of users to migrate ${pick(total, 'is', 'are')} not one MAS accepts ` +
        `(${rows.map((r) => `${r.n} ${PROBLEM_TEXT[r.problem] ?? r.problem}`).join(', ')}); migrated verbatim, ${pick(total, 'it', 'they')} would receive no mail ` +
        `and a login or recovery by the real address would not find ${pick(total, 'it', 'them')}.`,
      {
        fix: 'Correct or delete these rows in the Synapse database (after a backup; the SQL below trims and deletes what it safely can), then run the check again.',
        details: {
          byProblem,
          // Quoted, so that the whitespace shows.
          examples: rows.flatMap((r) => r.examples.map((x) => ({ userId: x.userId, address: JSON.stringify(x.address), problem: r.problem }))).slice(0, MAX_EXAMPLES),
          sql: INVALID_EMAILS_SQL,
        },
      },
    );
  },
};

export const caseDuplicateEmails: DataCheck = {
  code: 'W_CASE_DUPLICATE_EMAILS',
  async run({ db, params }) {
    const { rows } = await db.query<{ addresses: number; users: number; examples: Array<{ userId: string; addresses: string[] }> | null }>(
      `SELECT count(*)::int AS addresses, count(DISTINCT user_id)::int AS users,
              json_agg(json_build_object('userId', user_id, 'addresses', variants) ORDER BY user_id, lowered) FILTER (WHERE rn <= ${MAX_EXAMPLES}) AS examples
         FROM (SELECT t.user_id, lower(t.address) AS lowered, array_agg(t.address ORDER BY t.address) AS variants,
                      row_number() OVER (ORDER BY t.user_id, lower(t.address)) AS rn
                 FROM ${MIGRATED_EMAILS}
                GROUP BY t.user_id, lower(t.address) HAVING count(*) > 1) d`,
      params,
    );
    const dup = rows[0];
    if (dup === undefined || dup.addresses === 0) return undefined;
    return finding(
      'W_CASE_DUPLICATE_EMAILS',
      'warning',
      `${plural(dup.users, 'user')} ${pick(dup.users, 'has', 'have')} the same email address more than once, differing only in case ` +
        `(${plural(dup.addresses, 'address', 'addresses')}); MAS looks addresses up ignoring case and uses one only when a single row matches, ` +
        `so ${pick(dup.addresses, 'it', 'they')} would no longer work for a login or a recovery by email.`,
      {
        fix: 'Keep one spelling per user: delete the others in Synapse before migrating (the SQL below keeps the oldest), or with `mas-tool manage remove-email` after it.',
        details: {
          addresses: dup.addresses,
          users: dup.users,
          examples: dup.examples ?? [],
          sql: `DELETE FROM user_threepids t USING user_threepids k
 WHERE t.medium = 'email' AND k.medium = 'email' AND k.user_id = t.user_id AND lower(k.address) = lower(t.address)
   AND (k.added_at, k.address) < (t.added_at, t.address);`,
        },
      },
    );
  },
};

export const mixedCaseEmails: DataCheck = {
  code: 'I_MIXED_CASE_EMAILS',
  async run({ db, params }) {
    const { rows } = await db.query<{ n: number; examples: Array<{ userId: string; address: string }> | null }>(
      `SELECT count(*)::int AS n,
              json_agg(json_build_object('userId', user_id, 'address', address) ORDER BY user_id, address) FILTER (WHERE rn <= ${MAX_EXAMPLES}) AS examples
         FROM (SELECT t.user_id, t.address, row_number() OVER (ORDER BY t.user_id, t.address) AS rn
                 FROM ${MIGRATED_EMAILS} AND t.address <> lower(t.address)) m`,
      params,
    );
    const mixed = rows[0];
    if (mixed === undefined || mixed.n === 0) return undefined;
    return finding(
      'I_MIXED_CASE_EMAILS',
      'info',
      `${plural(mixed.n, 'email address', 'email addresses')} ${pick(mixed.n, 'has', 'have')} capital letters (Synapse before 1.17 kept them); ` +
        `${pick(mixed.n, 'it is', 'they are')} migrated as written, and MAS finds ${pick(mixed.n, 'it', 'them')} whatever the case a user types.`,
      { details: { count: mixed.n, examples: mixed.examples ?? [] } },
    );
  },
};
