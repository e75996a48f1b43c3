// The aggregate queries behind the plan and the findings: one query per table (each a single scan
// joined to users/devices on their unique keys, many counts at once with FILTER). They fill the
// plan and return the counts the finding checks decide on, so a check only queries for examples.
import type { Queryable } from '../../../db/queryable.js';
import type { TimedQueryable } from '../../../db/timed.js';
import {
  AT_FROM,
  AT_REASON,
  DEVICE_FROM,
  DEVICE_REASON,
  isForeignId,
  isMigratable,
  isNonstandardLocalpart,
  localpart,
  ownerWhens,
  REFRESH_FROM,
  REFRESH_REASON,
  REFRESH_WITH,
  USER_CLASS,
  validIpSql,
} from '../../synapse-sql.js';
import { addToPlan, type SynapseFacts } from './plan.js';

/** Per-class counts of the users table, for the plan and the user findings. */
export interface UserCounts {
  migrate: number;
  foreign: number;
  appservice: number;
  appservice_invalid_localpart: number;
  local_password_users: number;
  guests: number;
  no_creation_ts: number;
  nonstandard: number;
  without_email: number;
  only_phone: number;
}

export interface SynapseCounts {
  users: UserCounts;
  /** Third-party IDs to migrate other than email, by medium. */
  nonEmailByMedium: Record<string, number>;
  /** Devices to migrate whose last-seen IP is not one address. */
  invalidIps: number;
  /** Rows holding a user ID that is not local, by table.column (E_FOREIGN_USER_IDS). */
  foreignByTable: Record<string, number>;
  /** Rows whose local user ID has no users row, by table (W_ORPHAN_ROWS). */
  orphanByTable: Record<string, number>;
}

type Counted = {
  reason: string;
  n: number;
};

/** A device row (alias d) whose last-seen IP is set but not one IPv4 or IPv6 address. */
export function invalidIpSql(serverVersion: number): string {
  return `(d.ip IS NOT NULL AND d.ip <> '-' AND NOT ${validIpSql('d.ip', serverVersion)})`;
}

const EXTERNAL_ID_COUNTS = `SELECT CASE ${ownerWhens('e.user_id')} ELSE 'migrate' END AS reason, e.auth_provider,
            count(*)::int AS n, count(DISTINCT e.user_id)::int AS users
       FROM user_external_ids e LEFT JOIN users u ON u.name = e.user_id
      GROUP BY 1, 2`;

/** The SSO links to migrate, per provider, sorted by provider (for the provider checks). */
function externalIdsOf(rows: ReadonlyArray<{ reason: string; auth_provider: string; n: number; users: number }>): SynapseFacts['externalIds'] {
  return rows
    .filter((r) => r.reason === 'migrate')
    .map((r) => ({ authProvider: r.auth_provider, rows: r.n, users: r.users }))
    .sort((a, b) => (a.authProvider < b.authProvider ? -1 : a.authProvider > b.authProvider ? 1 : 0));
}

/** What the cut-over needs of the facts: the users with a password and the SSO links per provider. */
export async function countCutoverFacts(db: Queryable, params: unknown[], facts: SynapseFacts): Promise<void> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM users u WHERE ${isMigratable('u')} AND u.password_hash IS NOT NULL AND u.password_hash <> ''`,
    params,
  );
  facts.localPasswordUsers = rows[0]?.n ?? 0;
  const { rows: extRows } = await db.query<{ reason: string; auth_provider: string; n: number; users: number }>(EXTERNAL_ID_COUNTS, params);
  facts.externalIds.push(...externalIdsOf(extRows));
}

/** Runs the aggregate queries (one step each), fills `facts`, and returns the counts. */
export async function countSynapseRows(db: TimedQueryable, params: unknown[], serverVersion: number, facts: SynapseFacts): Promise<SynapseCounts> {
  const plan = facts.plan;

  // --- Users, with a per-user summary of their third-party IDs (one scan of each table) ---
  db.step('users');
  const { rows: userRows } = await db.query<{ [K in keyof UserCounts]: number }>(
    `WITH tp AS (
       SELECT user_id, bool_or(medium = 'email') AS has_email, bool_and(medium = 'msisdn') AS only_msisdn
         FROM user_threepids GROUP BY user_id
     ), c AS (
       SELECT u.*, ${USER_CLASS} AS cls FROM users u
     )
     SELECT count(*) FILTER (WHERE cls = 'migrate')::int AS migrate,
            count(*) FILTER (WHERE cls = 'foreign')::int AS foreign,
            count(*) FILTER (WHERE cls = 'appservice')::int AS appservice,
            count(*) FILTER (WHERE cls = 'appservice_invalid_localpart')::int AS appservice_invalid_localpart,
            count(*) FILTER (WHERE cls = 'migrate' AND password_hash IS NOT NULL AND password_hash <> '')::int AS local_password_users,
            count(*) FILTER (WHERE cls = 'migrate' AND is_guest <> 0)::int AS guests,
            count(*) FILTER (WHERE cls = 'migrate' AND creation_ts IS NULL)::int AS no_creation_ts,
            count(*) FILTER (WHERE cls = 'migrate' AND ${isNonstandardLocalpart(localpart('c.name'))})::int AS nonstandard,
            count(*) FILTER (WHERE cls = 'migrate' AND deactivated = 0 AND is_guest = 0 AND tp.has_email IS NOT TRUE)::int AS without_email,
            count(*) FILTER (WHERE cls = 'migrate' AND deactivated = 0 AND is_guest = 0 AND tp.only_msisdn)::int AS only_phone
       FROM c LEFT JOIN tp ON tp.user_id = c.name`,
    params,
  );
  const users = userRows[0];
  if (users === undefined) throw new Error('internal error: the users aggregate returned no row');
  plan.users.migrate = users.migrate;
  plan.users.skipped = { foreign: users.foreign, appservice_invalid_localpart: users.appservice_invalid_localpart, appservice: users.appservice };
  facts.localPasswordUsers = users.local_password_users;

  // --- Third-party IDs, by owner class and medium ---
  db.step('third-party IDs');
  const { rows: tpRows } = await db.query<Counted & { medium: string }>(
    `SELECT CASE ${ownerWhens('t.user_id')} ELSE 'migrate' END AS reason, t.medium, count(*)::int AS n
       FROM user_threepids t LEFT JOIN users u ON u.name = t.user_id
      GROUP BY 1, 2 ORDER BY 2`,
    params,
  );
  const nonEmailByMedium: Record<string, number> = {};
  for (const r of tpRows) {
    addToPlan(r.medium === 'email' ? plan.emails : plan.unsupportedThreepids, r.reason, r.n);
    if (r.reason === 'migrate' && r.medium !== 'email') nonEmailByMedium[r.medium] = (nonEmailByMedium[r.medium] ?? 0) + r.n;
  }

  // --- External IDs (upstream links), by owner class and provider ---
  db.step('upstream links');
  const { rows: extRows } = await db.query<Counted & { auth_provider: string; users: number }>(EXTERNAL_ID_COUNTS, params);
  for (const r of extRows) addToPlan(plan.upstreamLinks, r.reason, r.n);
  facts.externalIds.push(...externalIdsOf(extRows));

  // --- Devices ---
  db.step('devices');
  const { rows: devRows } = await db.query<Counted & { invalid_ips: number }>(
    `SELECT ${DEVICE_REASON} AS reason, count(*)::int AS n, count(*) FILTER (WHERE ${invalidIpSql(serverVersion)})::int AS invalid_ips
       ${DEVICE_FROM} GROUP BY 1`,
    params,
  );
  let invalidIps = 0;
  for (const r of devRows) {
    addToPlan(plan.devices, r.reason, r.n);
    if (r.reason === 'migrate') invalidIps = r.invalid_ips;
  }

  // --- Access tokens (all of them: the non-refreshable ones make the plan; all count for the findings) ---
  db.step('access tokens');
  const { rows: atRows } = await db.query<Counted & { refreshable: boolean; deviceless: boolean; foreign_puppets: number }>(
    `SELECT ${AT_REASON} AS reason, a.refresh_token_id IS NOT NULL AS refreshable,
            (a.device_id IS NULL AND a.puppets_user_id IS NULL) AS deviceless, count(*)::int AS n,
            count(*) FILTER (WHERE a.puppets_user_id IS NOT NULL AND ${isForeignId('a.puppets_user_id', 'pu')})::int AS foreign_puppets
       ${AT_FROM} LEFT JOIN users pu ON pu.name = a.puppets_user_id GROUP BY 1, 2, 3`,
    params,
  );
  let atForeign = 0;
  let atOrphan = 0;
  let foreignPuppets = 0;
  for (const r of atRows) {
    if (r.reason === 'foreign') atForeign += r.n;
    if (r.reason === 'orphan') atOrphan += r.n;
    foreignPuppets += r.foreign_puppets;
    if (r.refreshable) continue;
    addToPlan(plan.accessTokens, r.reason, r.n);
    if (r.deviceless) addToPlan(plan.deviceless, r.reason, r.n);
  }

  // --- Refreshable tokens (units), and the owners of refresh_tokens rows ---
  db.step('refresh tokens');
  const { rows: rtRows } = await db.query<Counted>(`${REFRESH_WITH} SELECT ${REFRESH_REASON} AS reason, count(*)::int AS n ${REFRESH_FROM} GROUP BY 1`, params);
  for (const r of rtRows) addToPlan(plan.refreshTokens, r.reason, r.n);
  const { rows: rtOwnerRows } = await db.query<{ foreign: number; orphan: number }>(
    `SELECT count(*) FILTER (WHERE o = 'foreign')::int AS foreign, count(*) FILTER (WHERE o = 'orphan')::int AS orphan
       FROM (SELECT CASE ${ownerWhens('r.user_id')} ELSE 'ok' END AS o FROM refresh_tokens r LEFT JOIN users u ON u.name = r.user_id) x`,
    params,
  );
  const rtOwners = rtOwnerRows[0] ?? { foreign: 0, orphan: 0 };

  const sumReason = (rows: Counted[], reason: string): number => rows.filter((r) => r.reason === reason).reduce((s, r) => s + r.n, 0);
  return {
    users,
    nonEmailByMedium,
    invalidIps,
    foreignByTable: {
      'users.name': users.foreign,
      'user_threepids.user_id': sumReason(tpRows, 'foreign'),
      'user_external_ids.user_id': sumReason(extRows, 'foreign'),
      'devices.user_id': sumReason(devRows, 'foreign'),
      'access_tokens.user_id': atForeign,
      'access_tokens.puppets_user_id': foreignPuppets,
      'refresh_tokens.user_id': rtOwners.foreign,
    },
    orphanByTable: {
      user_threepids: sumReason(tpRows, 'orphan'),
      user_external_ids: sumReason(extRows, 'orphan'),
      devices: sumReason(devRows, 'orphan'),
      access_tokens: atOrphan,
      refresh_tokens: rtOwners.orphan,
    },
  };
}
