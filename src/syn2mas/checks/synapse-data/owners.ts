// Checks on who owns the rows: user IDs of another server, rows without a users row, appservice
// (bridge) users. Each is counted by counts.ts; these only fetch examples and word the finding.
import { finding } from '../../../report/finding.js';
import { isAppserviceInvalid, isForeignId, isLocal, isOrphanId } from '../../synapse-sql.js';
import { MAX_EXAMPLES, pick, plural, type DataCheck } from './context.js';

/** Why a user ID is not local, for the examples of E_FOREIGN_USER_IDS. */
export function foreignKind(userId: string | null, serverName: string): string {
  if (userId === null) return 'no user ID';
  if (!userId.startsWith('@')) return "no '@' sigil";
  if (!userId.includes(':')) return 'no server name';
  if (userId.endsWith(`:${serverName}`)) return "localpart contains ':'";
  return 'other server name';
}

/** Where user IDs are read: the key of foreignByTable, the table and the column. */
const USER_ID_COLUMNS: ReadonlyArray<[string, string, string]> = [
  ['users.name', 'users', 'name'],
  ['user_threepids.user_id', 'user_threepids', 'user_id'],
  ['user_external_ids.user_id', 'user_external_ids', 'user_id'],
  ['devices.user_id', 'devices', 'user_id'],
  ['access_tokens.user_id', 'access_tokens', 'user_id'],
  ['access_tokens.puppets_user_id', 'access_tokens', 'puppets_user_id'],
  ['refresh_tokens.user_id', 'refresh_tokens', 'user_id'],
];

export const foreignUserIds: DataCheck = {
  code: 'E_FOREIGN_USER_IDS',
  async run({ db, params, serverName, counts }) {
    const { foreignByTable } = counts;
    const foreignTotal = Object.values(foreignByTable).reduce((s, n) => s + n, 0);
    if (foreignTotal === 0) return undefined;
    const branches = USER_ID_COLUMNS.filter(([key]) => (foreignByTable[key] ?? 0) > 0).map(([key, table, column]) => {
      const notNull = column === 'puppets_user_id' ? `t.${column} IS NOT NULL AND ` : '';
      return `(SELECT DISTINCT '${key}' AS source, t.${column} AS user_id FROM ${table} t LEFT JOIN users fu ON fu.name = t.${column}
                  WHERE ${notNull}${isForeignId(`t.${column}`, 'fu')} ORDER BY 2 NULLS FIRST LIMIT ${MAX_EXAMPLES})`;
    });
    const { rows } = await db.query<{ source: string; user_id: string | null }>(branches.join(' UNION ALL '), params);
    const examples = rows.slice(0, MAX_EXAMPLES).map((r) => ({ source: r.source, userId: r.user_id, kind: foreignKind(r.user_id, serverName) }));
    const colon = examples.some((e) => e.kind === "localpart contains ':'");
    return finding(
      'E_FOREIGN_USER_IDS',
      'error',
      `${plural(foreignTotal, 'row')} of the Synapse database ${pick(foreignTotal, 'holds a user ID', 'hold user IDs')} not local to '${serverName}'` +
        (colon ? " (some because the localpart contains ':')" : '') +
        `; such rows cannot be migrated, and mas-cli syn2mas would abort on ${pick(foreignTotal, 'it', 'them')}.`,
      {
        fix:
          `Check that the server name is right ('${serverName}', Synapse's server_name). If it is, these rows belong to another ` +
          "server or have a localpart containing ':' (which MAS cannot represent): delete or fix them in the Synapse database " +
          '(after a backup), then run the check again.',
        details: {
          serverName,
          byTable: Object.fromEntries(Object.entries(foreignByTable).filter(([, n]) => n > 0)),
          examples,
        },
      },
    );
  },
};

/**
 * One SELECT per table that can hold orphan rows, with the columns the examples show. Every branch
 * names its columns: a UNION takes the names of its first branch, which is whichever table has
 * orphans first, and an unnamed column came back as `undefined` ("... undefined undefined").
 */
const ORPHAN_EXAMPLE_SQL: Record<string, string> = {
  user_threepids: `SELECT DISTINCT 'user_threepids' AS tbl, t.user_id, NULL::text AS device_id, t.medium, NULL::text AS auth_provider FROM user_threepids t`,
  user_external_ids: `SELECT DISTINCT 'user_external_ids' AS tbl, t.user_id, NULL::text AS device_id, NULL::text AS medium, t.auth_provider FROM user_external_ids t`,
  devices: `SELECT DISTINCT 'devices' AS tbl, t.user_id, t.device_id, NULL::text AS medium, NULL::text AS auth_provider FROM devices t`,
  access_tokens: `SELECT DISTINCT 'access_tokens' AS tbl, t.user_id, t.device_id, NULL::text AS medium, NULL::text AS auth_provider FROM access_tokens t`,
  refresh_tokens: `SELECT DISTINCT 'refresh_tokens' AS tbl, t.user_id, t.device_id, NULL::text AS medium, NULL::text AS auth_provider FROM refresh_tokens t`,
};

export const orphanRows: DataCheck = {
  code: 'W_ORPHAN_ROWS',
  async run({ db, params, counts }) {
    const { orphanByTable } = counts;
    const orphanTotal = Object.values(orphanByTable).reduce((s, n) => s + n, 0);
    if (orphanTotal === 0) return undefined;
    const branches = Object.entries(orphanByTable)
      .filter(([, n]) => n > 0)
      .map(([table]) => `(${ORPHAN_EXAMPLE_SQL[table]} LEFT JOIN users ou ON ou.name = t.user_id WHERE ${isOrphanId('t.user_id', 'ou')} ORDER BY 2, 3, 4, 5 LIMIT ${MAX_EXAMPLES})`);
    const { rows } = await db.query<{ tbl: string; user_id: string; device_id: string | null; medium: string | null; auth_provider: string | null }>(
      branches.join(' UNION ALL '),
      params,
    );
    const examples = rows.slice(0, MAX_EXAMPLES).map((r) => ({
      table: r.tbl,
      userId: r.user_id,
      ...(r.device_id !== null ? { deviceId: r.device_id } : {}),
      ...(r.medium !== null ? { medium: r.medium } : {}),
      ...(r.auth_provider !== null ? { authProvider: r.auth_provider } : {}),
    }));
    return finding(
      'W_ORPHAN_ROWS',
      'warning',
      `${plural(orphanTotal, 'row')} ${pick(orphanTotal, 'belongs to a local user ID', 'belong to local user IDs')} without a users row; ` +
        `${pick(orphanTotal, 'it', 'they')} will be skipped (mas-cli syn2mas would abort on ${pick(orphanTotal, 'it', 'them')}).`,
      {
        fix: 'Nothing to do: they are skipped and listed in the report. To get rid of them, delete them from the Synapse database (after a backup).',
        details: { byTable: Object.fromEntries(Object.entries(orphanByTable).filter(([, n]) => n > 0)), examples },
      },
    );
  },
};

export const appserviceUsers: DataCheck = {
  code: 'W_APPSERVICE_USERS',
  async run({ db, params, counts: { users } }) {
    const asTotal = users.appservice + users.appservice_invalid_localpart;
    if (asTotal === 0) return undefined;
    const { rows: byAs } = await db.query<{ appservice_id: string; n: number }>(
      `SELECT u.appservice_id, count(*)::int AS n FROM users u
        WHERE u.appservice_id IS NOT NULL AND (${isLocal('u.name')} OR ${isAppserviceInvalid('u')})
        GROUP BY 1 ORDER BY 1`,
      params,
    );
    let invalidExamples: Array<{ userId: string; appserviceId: string }> = [];
    if (users.appservice_invalid_localpart > 0) {
      const { rows } = await db.query<{ name: string; appservice_id: string }>(
        `SELECT u.name, u.appservice_id FROM users u WHERE ${isAppserviceInvalid('u')} ORDER BY 1 LIMIT ${MAX_EXAMPLES}`,
        params,
      );
      invalidExamples = rows.map((r) => ({ userId: r.name, appserviceId: r.appservice_id }));
    }
    return finding(
      'W_APPSERVICE_USERS',
      'warning',
      `${plural(asTotal, 'appservice (bridge) user')} will not be migrated, nor their devices, tokens, third-party IDs and SSO links` +
        (users.appservice_invalid_localpart > 0 ? ` (${users.appservice_invalid_localpart} of them with ':' in the localpart)` : '') +
        '; as MAS intends, appservices keep authenticating through Synapse with their as_token.',
      {
        fix: 'Nothing to do. After the migration, manage bridge users through the Synapse admin API, not MAS.',
        details: {
          count: asTotal,
          byAppservice: Object.fromEntries(byAs.map((r) => [r.appservice_id, r.n])),
          invalidLocalpart: users.appservice_invalid_localpart,
          invalidLocalpartExamples: invalidExamples,
        },
      },
    );
  },
};
