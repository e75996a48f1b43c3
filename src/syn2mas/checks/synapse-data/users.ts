// Checks on the users table itself: missing creation times, guests, usernames MAS reads
// differently (equal ignoring case, outside its username rules).
import { finding } from '../../../report/finding.js';
import { isMigratable, isNonstandardLocalpart, localpart } from '../../synapse-sql.js';
import { MAX_EXAMPLES, plural, type DataCheck } from './context.js';

export const usersWithoutCreationTs: DataCheck = {
  code: 'E_USERS_WITHOUT_CREATION_TS',
  async run({ db, params, counts: { users } }) {
    if (users.no_creation_ts === 0) return undefined;
    const { rows } = await db.query<{ name: string }>(
      `SELECT u.name FROM users u WHERE ${isMigratable('u')} AND u.creation_ts IS NULL ORDER BY 1 LIMIT ${MAX_EXAMPLES}`,
      params,
    );
    return finding(
      'E_USERS_WITHOUT_CREATION_TS',
      'error',
      `${plural(users.no_creation_ts, 'user')} to migrate ${users.no_creation_ts === 1 ? 'has' : 'have'} no creation time (users.creation_ts is NULL); ` +
        'MAS IDs are built from it, and mas-cli syn2mas aborts on such a row.',
      {
        fix: 'Set users.creation_ts (seconds since the epoch) for these users in the Synapse database, e.g. to the time of their first event, then run the check again.',
        details: { count: users.no_creation_ts, examples: rows.map((r) => r.name) },
      },
    );
  },
};

export const guestsInDatabase: DataCheck = {
  code: 'W_GUESTS_IN_DATABASE',
  async run({ counts: { users } }) {
    if (users.guests === 0) return undefined;
    return finding(
      'W_GUESTS_IN_DATABASE',
      'warning',
      `${plural(users.guests, 'guest user')} will be migrated with the guest flag, but MAS cannot issue guest tokens; their devices and tokens are not migrated.`,
      {
        fix: "Nothing to do if you do not need guest access. Turn allow_guest_access off in Synapse (MAS does not support guests).",
        details: { count: users.guests },
      },
    );
  },
};

export const caseCollidingUsernames: DataCheck = {
  code: 'W_CASE_COLLIDING_USERNAMES',
  async run({ db, params }) {
    const { rows } = await db.query<{ groups: number; users: number; examples: Array<{ localpart: string; userIds: string[] }> | null }>(
      `WITH g AS (
         SELECT lower(${localpart('u.name')}) AS localpart, array_agg(u.name ORDER BY u.name) AS user_ids
           FROM users u WHERE ${isMigratable('u')}
          GROUP BY 1 HAVING count(*) > 1
       )
       SELECT (SELECT count(*)::int FROM g) AS groups,
              (SELECT coalesce(sum(cardinality(user_ids)), 0)::int FROM g) AS users,
              (SELECT json_agg(json_build_object('localpart', e.localpart, 'userIds', e.user_ids[1:${MAX_EXAMPLES}]) ORDER BY e.localpart)
                 FROM (SELECT * FROM g ORDER BY localpart LIMIT ${MAX_EXAMPLES}) e) AS examples`,
      params,
    );
    const col = rows[0];
    if (col === undefined || col.groups === 0) return undefined;
    return finding(
      'W_CASE_COLLIDING_USERNAMES',
      'warning',
      `${plural(col.users, 'user')} in ${plural(col.groups, 'group')} have usernames that differ only in case; MAS looks usernames up ignoring case, so these users may be unable to log in by username.`,
      {
        fix: 'Deactivate all but one account of each group in Synapse before migrating, or have those users log in by another means (SSO, email).',
        details: { groups: col.groups, users: col.users, examples: col.examples ?? [] },
      },
    );
  },
};

/** Why a localpart breaks MAS's username rules, for the examples of W_NONSTANDARD_LOCALPARTS. */
function localpartProblems(lp: string): string[] {
  const problems: string[] = [];
  if (lp === '') problems.push('empty');
  else if (!/^[a-z0-9=_./+-]+$/.test(lp)) problems.push(/[A-Z]/.test(lp) && /^[A-Za-z0-9=_./+-]+$/.test(lp) ? 'upper case' : 'characters');
  if (lp.startsWith('_')) problems.push("starts with '_'");
  if ([...lp].length > 255) problems.push('longer than 255 characters');
  return problems;
}

export const nonstandardLocalparts: DataCheck = {
  code: 'W_NONSTANDARD_LOCALPARTS',
  async run({ db, params, counts: { users } }) {
    if (users.nonstandard === 0) return undefined;
    const { rows } = await db.query<{ name: string; lp: string }>(
      `SELECT u.name, ${localpart('u.name')} AS lp FROM users u
        WHERE ${isMigratable('u')} AND ${isNonstandardLocalpart(localpart('u.name'))} ORDER BY 1 LIMIT ${MAX_EXAMPLES}`,
      params,
    );
    return finding(
      'W_NONSTANDARD_LOCALPARTS',
      'warning',
      `${plural(users.nonstandard, 'user')} to migrate ${users.nonstandard === 1 ? 'has a username' : 'have usernames'} outside MAS's rules ` +
        "(a-z, 0-9 and = _ - . / +, not starting with '_', 1 to 255 characters); they are migrated as they are.",
      {
        fix: 'Nothing blocks the migration. MAS keeps these usernames, but some MAS features (e.g. registering or renaming) apply the stricter rules.',
        details: { count: users.nonstandard, examples: rows.map((r) => ({ userId: r.name, problems: localpartProblems(r.lp) })) },
      },
    );
  },
};
