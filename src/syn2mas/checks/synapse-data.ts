// Pre-flight checks of the Synapse data, and the migration plan: how many rows of each kind the
// migration will write to MAS and how many it will skip, and why.
//
// Everything here is read-only SELECTs; the caller runs them inside one READ ONLY snapshot
// transaction. The queries are set-based: one aggregate query per table (each a single scan
// joined to users/devices on their unique keys, many counts at once with FILTER), plus small
// example queries (LIMIT 20) that only run when a finding has something to show. Examples hold
// user IDs, device IDs, media, provider names, email addresses and device IPs; never a token or
// a password hash.
//
// The plan follows mas-cli syn2mas's transform (what it reads, §3.3 of its spec, and what it
// writes or drops, §4.4-§4.12) with three deliberate differences, where syn2mas aborts or breaks
// and we skip the rows under a reason instead:
//   - rows whose user has no users row (orphan rows);
//   - appservice users whose localpart contains ':' (syn2mas ignores the user, then aborts on
//     any row of theirs) and all their rows;
//   - tokens attached to a device row syn2mas does not migrate (hidden or 'guest_device'), which
//     make syn2mas's final foreign-key rebuild fail.
// User IDs of another server are an error (E_FOREIGN_USER_IDS); their rows are counted under
// `foreign` so that the plan still adds up.
import type { Queryable } from '../../db/queryable.js';
import { timeQueries, type StepTiming } from '../../db/timed.js';
import { finding, type Finding } from '../../report/finding.js';
import {
  isLocal,
  localpart,
  isAppserviceInvalid,
  isMigratable,
  USER_CLASS,
  ownerWhens,
  isForeignId,
  isOrphanId,
  DEVICE_NOT_MIGRATED,
  isNonstandardLocalpart,
  validIpSql,
  AT_FROM,
  AT_REASON,
  REFRESH_WITH,
  REFRESH_FROM,
  REFRESH_REASON,
  DEVICE_FROM,
  DEVICE_REASON,
} from '../synapse-sql.js';

/** users.locked arrived in delta 80 (Synapse 1.90); the real tool needs it too. */
export const MIN_SYNAPSE_SCHEMA = 80;

/** Rows of one kind: how many are migrated, and how many are skipped, by reason. */
export interface EntityPlan {
  migrate: number;
  /** Skipped rows by reason; every reason of PLAN_SKIP_REASONS for the entity is present. */
  skipped: Record<string, number>;
}

export interface SynapseFacts {
  schemaVersion: number | undefined;
  /** Users to migrate whose password_hash is neither NULL nor ''. */
  localPasswordUsers: number;
  /** user_external_ids rows of users to migrate, by auth_provider, sorted by authProvider. */
  externalIds: Array<{ authProvider: string; rows: number; users: number }>;
  plan: {
    users: EntityPlan;
    /** user_threepids rows with medium 'email' (exactly, as syn2mas compares). */
    emails: EntityPlan;
    /** user_threepids rows with any other medium (they go to user_unsupported_third_party_ids). */
    unsupportedThreepids: EntityPlan;
    /** user_external_ids rows; links of unmapped providers are the caller's business. */
    upstreamLinks: EntityPlan;
    devices: EntityPlan;
    /** Non-refreshable access tokens (refresh_token_id IS NULL), with a device or deviceless. */
    accessTokens: EntityPlan;
    /**
     * Refreshable tokens, one unit per access token paired with its refresh token, plus one per
     * refresh token without a paired access token and one per refreshable access token whose
     * refresh token belongs to another user or device.
     */
    refreshTokens: EntityPlan;
    /**
     * Deviceless non-puppet non-refreshable access tokens; each migrated one becomes its own
     * compat session. These are a subset of accessTokens.
     */
    deviceless: EntityPlan;
  };
}

type PlanKey = keyof SynapseFacts['plan'];

// Reasons of the owner of a row, in this order: a user ID of another server, an appservice user
// with ':' in the localpart, a local user ID without a users row, an appservice user. They come
// first, so that the foreign and orphan counts of the plan match the findings table by table.
const OWNER_REASONS = ['foreign', 'appservice_invalid_localpart', 'orphan', 'appservice'] as const;

/**
 * The skip reasons of each entity, in the order they are applied: a row gets the first reason
 * that applies, so the buckets never overlap and migrate + sum(skipped) = rows read. After the
 * owner reasons come syn2mas's own SQL filters (puppet, device_missing, no_access_token,
 * unpaired_access_token, superseded, hidden, guest_device), then syn2mas's per-user skips
 * (deactivated_user, guest_user), then our extra skip (hidden_device: exactly the tokens
 * syn2mas would otherwise break on).
 */
export const PLAN_SKIP_REASONS = {
  users: ['foreign', 'appservice_invalid_localpart', 'appservice'],
  emails: [...OWNER_REASONS],
  unsupportedThreepids: [...OWNER_REASONS],
  upstreamLinks: [...OWNER_REASONS],
  devices: [...OWNER_REASONS, 'hidden', 'guest_device', 'deactivated_user', 'guest_user'],
  accessTokens: [...OWNER_REASONS, 'puppet', 'device_missing', 'deactivated_user', 'guest_user', 'hidden_device'],
  refreshTokens: [
    ...OWNER_REASONS,
    'no_access_token',
    'unpaired_access_token',
    'superseded',
    'device_missing',
    'deactivated_user',
    'guest_user',
    'hidden_device',
  ],
  deviceless: [...OWNER_REASONS, 'deactivated_user', 'guest_user'],
} as const satisfies Record<PlanKey, readonly string[]>;

export const SYNAPSE_DATA_CHECK_CODES = [
  'E_SYNAPSE_SCHEMA_MISSING',
  'E_SYNAPSE_SCHEMA_TOO_OLD',
  'E_FOREIGN_USER_IDS',
  'E_USERS_WITHOUT_CREATION_TS',
  'W_ORPHAN_ROWS',
  'W_APPSERVICE_USERS',
  'W_GUESTS_IN_DATABASE',
  'W_NON_EMAIL_THREEPIDS',
  'W_DUPLICATE_EMAILS',
  'W_CASE_COLLIDING_USERNAMES',
  'W_NONSTANDARD_LOCALPARTS',
  'W_TOKENS_ON_HIDDEN_DEVICES',
  'W_INVALID_DEVICE_IPS',
  'W_BACKGROUND_UPDATES_PENDING',
] as const;

const MAX_EXAMPLES = 20;
const REQUIRED_TABLES = ['schema_version', 'users', 'user_threepids', 'user_external_ids', 'devices', 'access_tokens', 'refresh_tokens'];

// ---------------------------------------------------------------------------------------------
// Plan bookkeeping
// ---------------------------------------------------------------------------------------------

function emptyEntity(key: PlanKey): EntityPlan {
  const skipped: Record<string, number> = {};
  for (const reason of PLAN_SKIP_REASONS[key]) skipped[reason] = 0;
  return { migrate: 0, skipped };
}

function emptyPlan(): SynapseFacts['plan'] {
  return {
    users: emptyEntity('users'),
    emails: emptyEntity('emails'),
    unsupportedThreepids: emptyEntity('unsupportedThreepids'),
    upstreamLinks: emptyEntity('upstreamLinks'),
    devices: emptyEntity('devices'),
    accessTokens: emptyEntity('accessTokens'),
    refreshTokens: emptyEntity('refreshTokens'),
    deviceless: emptyEntity('deviceless'),
  };
}

function add(entity: EntityPlan, reason: string, n: number): void {
  if (reason === 'migrate') entity.migrate += n;
  else if (reason in entity.skipped) entity.skipped[reason] = (entity.skipped[reason] ?? 0) + n;
  else throw new Error(`internal error: unexpected plan reason '${reason}'`);
}

function emptyFacts(schemaVersion: number | undefined): SynapseFacts {
  return { schemaVersion, localPasswordUsers: 0, externalIds: [], plan: emptyPlan() };
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The singular or the plural wording, for verbs and pronouns that agree with n. */
function pick(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

/** Why a user ID is not local, for the examples of E_FOREIGN_USER_IDS. */
export function foreignKind(userId: string | null, serverName: string): string {
  if (userId === null) return 'no user ID';
  if (!userId.startsWith('@')) return "no '@' sigil";
  if (!userId.includes(':')) return 'no server name';
  if (userId.endsWith(`:${serverName}`)) return "localpart contains ':'";
  return 'other server name';
}

/** Why a localpart breaks MAS's username rules, for the examples of W_NONSTANDARD_LOCALPARTS. */
function localpartProblems(lp: string): string[] {
  const problems: string[] = [];
  if (lp === '') problems.push('empty');
  else if (!/^[a-z0-9=_./+-]+$/.test(lp)) problems.push(/[A-Z]/.test(lp) && /^[A-Za-z0-9=_./+-]+$/.test(lp) ? 'upper case' : 'characters');
  if (lp.startsWith('_')) problems.push("starts with '_'");
  if ([...lp].length > 255) problems.push('longer than 255 characters');
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The check
// ---------------------------------------------------------------------------------------------

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

async function externalIdFacts(db: Queryable, params: unknown[]): Promise<SynapseFacts['externalIds']> {
  const { rows } = await db.query<{ reason: string; auth_provider: string; n: number; users: number }>(EXTERNAL_ID_COUNTS, params);
  return externalIdsOf(rows);
}

type Counted = {
  reason: string;
  n: number;
};

export interface SynapseDataResult {
  findings: Finding[];
  facts: SynapseFacts;
  /** Time per step (a group of counts, or the examples of one finding), for the growth benchmark. */
  timings: StepTiming[];
}

/**
 * `scope: 'cutover'`: only what the cut-over of a staged migration needs (the schema, the users with
 * a password, the SSO links per provider): the data checks ran when the stage was last brought up
 * to date, and rows that changed since are re-read by the cut-over itself, which skips what cannot
 * be migrated just as a full migration does. Everything else waits for `syn2mas check`.
 */
export async function checkSynapseData(source: Queryable, opts: { serverName: string; scope?: 'full' | 'cutover' }): Promise<SynapseDataResult> {
  const db = timeQueries(source, 'schema');
  const params = [opts.serverName];
  const findings: Finding[] = [];

  // --- Is this a Synapse database, and a recent enough one? ---
  const { rows: envRows } = await db.query<{ schema: string | null; present: string[] | null; server_version: number }>(
    `SELECT current_schema() AS schema,
            (SELECT array_agg(c.relname::text) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = current_schema() AND c.relname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')) AS present,
            current_setting('server_version_num')::int AS server_version`,
    [[...REQUIRED_TABLES, 'background_updates']],
  );
  const env = envRows[0];
  const present = new Set(env?.present ?? []);
  const missing = REQUIRED_TABLES.filter((t) => !present.has(t));
  let schemaVersion: number | undefined;
  if (present.has('schema_version')) {
    const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_version LIMIT 1');
    schemaVersion = rows[0]?.version;
  }
  if (missing.length > 0 || schemaVersion === undefined) {
    const what = missing.length > 0 ? `missing ${missing.join(', ')}` : 'schema_version has no row';
    findings.push(
      finding('E_SYNAPSE_SCHEMA_MISSING', 'error', `This is not a Synapse database: ${what} (schema ${env?.schema ?? '(none)'}).`, {
        fix:
          "Point mas-tool at Synapse's main database: the one in homeserver.yaml's database section (with several databases, the one " +
          "whose data_stores include 'main'), and the schema Synapse uses (the role's search_path). If it is a new server, start Synapse once first.",
        details: { missingTables: missing, schema: env?.schema ?? null, ...(missing.length === 0 ? { schemaVersionRow: false } : {}) },
      }),
    );
    return { findings, facts: emptyFacts(schemaVersion), timings: db.timings };
  }
  if (schemaVersion < MIN_SYNAPSE_SCHEMA) {
    findings.push(
      finding(
        'E_SYNAPSE_SCHEMA_TOO_OLD',
        'error',
        `The Synapse database schema is version ${schemaVersion}; migrating needs version ${MIN_SYNAPSE_SCHEMA} or later (users.locked, Synapse 1.90).`,
        {
          fix:
            'Upgrade Synapse to at least 1.136 (the first release with the stable MAS integration), start it once so that it upgrades ' +
            'its database schema, let it finish its background updates, then run the check again.',
          details: { found: schemaVersion, minimum: MIN_SYNAPSE_SCHEMA },
        },
      ),
    );
    return { findings, facts: emptyFacts(schemaVersion), timings: db.timings };
  }

  const facts = emptyFacts(schemaVersion);
  const plan = facts.plan;
  const serverVersion = env?.server_version ?? 0;
  if (opts.scope === 'cutover') {
    db.step('cut-over facts');
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM users u WHERE ${isMigratable('u')} AND u.password_hash IS NOT NULL AND u.password_hash <> ''`,
      params,
    );
    facts.localPasswordUsers = rows[0]?.n ?? 0;
    facts.externalIds.push(...(await externalIdFacts(db, params)));
    return { findings, facts, timings: db.timings };
  }

  // --- Users, with a per-user summary of their third-party IDs (one scan of each table) ---
  db.step('users');
  const { rows: userRows } = await db.query<{
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
  }>(
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
    add(r.medium === 'email' ? plan.emails : plan.unsupportedThreepids, r.reason, r.n);
    if (r.reason === 'migrate' && r.medium !== 'email') nonEmailByMedium[r.medium] = (nonEmailByMedium[r.medium] ?? 0) + r.n;
  }

  // --- External IDs (upstream links), by owner class and provider ---
  db.step('upstream links');
  const { rows: extRows } = await db.query<Counted & { auth_provider: string; users: number }>(EXTERNAL_ID_COUNTS, params);
  for (const r of extRows) add(plan.upstreamLinks, r.reason, r.n);
  facts.externalIds.push(...externalIdsOf(extRows));

  // --- Devices ---
  db.step('devices');
  const ipIsInvalid = `(d.ip IS NOT NULL AND d.ip <> '-' AND NOT ${validIpSql('d.ip', serverVersion)})`;
  const { rows: devRows } = await db.query<Counted & { invalid_ips: number }>(
    `SELECT ${DEVICE_REASON} AS reason, count(*)::int AS n, count(*) FILTER (WHERE ${ipIsInvalid})::int AS invalid_ips
       ${DEVICE_FROM} GROUP BY 1`,
    params,
  );
  let invalidIps = 0;
  for (const r of devRows) {
    add(plan.devices, r.reason, r.n);
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
    add(plan.accessTokens, r.reason, r.n);
    if (r.deviceless) add(plan.deviceless, r.reason, r.n);
  }

  // --- Refreshable tokens (units), and the owners of refresh_tokens rows ---
  db.step('refresh tokens');
  const { rows: rtRows } = await db.query<Counted>(`${REFRESH_WITH} SELECT ${REFRESH_REASON} AS reason, count(*)::int AS n ${REFRESH_FROM} GROUP BY 1`, params);
  for (const r of rtRows) add(plan.refreshTokens, r.reason, r.n);
  const { rows: rtOwnerRows } = await db.query<{ foreign: number; orphan: number }>(
    `SELECT count(*) FILTER (WHERE o = 'foreign')::int AS foreign, count(*) FILTER (WHERE o = 'orphan')::int AS orphan
       FROM (SELECT CASE ${ownerWhens('r.user_id')} ELSE 'ok' END AS o FROM refresh_tokens r LEFT JOIN users u ON u.name = r.user_id) x`,
    params,
  );
  const rtOwners = rtOwnerRows[0] ?? { foreign: 0, orphan: 0 };

  // --- E_FOREIGN_USER_IDS ---
  db.step('E_FOREIGN_USER_IDS');
  const sumReason = (rows: Counted[], reason: string): number => rows.filter((r) => r.reason === reason).reduce((s, r) => s + r.n, 0);
  const foreignByTable: Record<string, number> = {
    'users.name': users.foreign,
    'user_threepids.user_id': sumReason(tpRows, 'foreign'),
    'user_external_ids.user_id': sumReason(extRows, 'foreign'),
    'devices.user_id': sumReason(devRows, 'foreign'),
    'access_tokens.user_id': atForeign,
    'access_tokens.puppets_user_id': foreignPuppets,
    'refresh_tokens.user_id': rtOwners.foreign,
  };
  const foreignTotal = Object.values(foreignByTable).reduce((s, n) => s + n, 0);
  if (foreignTotal > 0) {
    const sources: Array<[string, string, string]> = [
      ['users.name', 'users', 'name'],
      ['user_threepids.user_id', 'user_threepids', 'user_id'],
      ['user_external_ids.user_id', 'user_external_ids', 'user_id'],
      ['devices.user_id', 'devices', 'user_id'],
      ['access_tokens.user_id', 'access_tokens', 'user_id'],
      ['access_tokens.puppets_user_id', 'access_tokens', 'puppets_user_id'],
      ['refresh_tokens.user_id', 'refresh_tokens', 'user_id'],
    ];
    const branches = sources
      .filter(([key]) => (foreignByTable[key] ?? 0) > 0)
      .map(([key, table, column]) => {
        const notNull = column === 'puppets_user_id' ? `t.${column} IS NOT NULL AND ` : '';
        return `(SELECT DISTINCT '${key}' AS source, t.${column} AS user_id FROM ${table} t LEFT JOIN users fu ON fu.name = t.${column}
                  WHERE ${notNull}${isForeignId(`t.${column}`, 'fu')} ORDER BY 2 NULLS FIRST LIMIT ${MAX_EXAMPLES})`;
      });
    const { rows } = await db.query<{ source: string; user_id: string | null }>(branches.join(' UNION ALL '), params);
    const examples = rows.slice(0, MAX_EXAMPLES).map((r) => ({ source: r.source, userId: r.user_id, kind: foreignKind(r.user_id, opts.serverName) }));
    const colon = examples.some((e) => e.kind === "localpart contains ':'");
    findings.push(
      finding(
        'E_FOREIGN_USER_IDS',
        'error',
        `${plural(foreignTotal, 'row')} of the Synapse database ${pick(foreignTotal, 'holds a user ID', 'hold user IDs')} not local to '${opts.serverName}'` +
          (colon ? " (some because the localpart contains ':')" : '') +
          `; such rows cannot be migrated, and mas-cli syn2mas would abort on ${pick(foreignTotal, 'it', 'them')}.`,
        {
          fix:
            `Check that the server name is right ('${opts.serverName}', Synapse's server_name). If it is, these rows belong to another ` +
            "server or have a localpart containing ':' (which MAS cannot represent): delete or fix them in the Synapse database " +
            '(after a backup), then run the check again.',
          details: {
            serverName: opts.serverName,
            byTable: Object.fromEntries(Object.entries(foreignByTable).filter(([, n]) => n > 0)),
            examples,
          },
        },
      ),
    );
  }

  // --- E_USERS_WITHOUT_CREATION_TS ---
  db.step('E_USERS_WITHOUT_CREATION_TS');
  if (users.no_creation_ts > 0) {
    const { rows } = await db.query<{ name: string }>(
      `SELECT u.name FROM users u WHERE ${isMigratable('u')} AND u.creation_ts IS NULL ORDER BY 1 LIMIT ${MAX_EXAMPLES}`,
      params,
    );
    findings.push(
      finding(
        'E_USERS_WITHOUT_CREATION_TS',
        'error',
        `${plural(users.no_creation_ts, 'user')} to migrate ${users.no_creation_ts === 1 ? 'has' : 'have'} no creation time (users.creation_ts is NULL); ` +
          'MAS IDs are built from it, and mas-cli syn2mas aborts on such a row.',
        {
          fix: 'Set users.creation_ts (seconds since the epoch) for these users in the Synapse database, e.g. to the time of their first event, then run the check again.',
          details: { count: users.no_creation_ts, examples: rows.map((r) => r.name) },
        },
      ),
    );
  }

  // --- W_ORPHAN_ROWS ---
  db.step('W_ORPHAN_ROWS');
  const orphanByTable: Record<string, number> = {
    user_threepids: sumReason(tpRows, 'orphan'),
    user_external_ids: sumReason(extRows, 'orphan'),
    devices: sumReason(devRows, 'orphan'),
    access_tokens: atOrphan,
    refresh_tokens: rtOwners.orphan,
  };
  const orphanTotal = Object.values(orphanByTable).reduce((s, n) => s + n, 0);
  if (orphanTotal > 0) {
    const branchSql: Record<string, string> = {
      user_threepids: `SELECT DISTINCT 'user_threepids' AS tbl, t.user_id, NULL::text AS device_id, t.medium, NULL::text AS auth_provider FROM user_threepids t`,
      user_external_ids: `SELECT DISTINCT 'user_external_ids' AS tbl, t.user_id, NULL::text, NULL::text, t.auth_provider FROM user_external_ids t`,
      devices: `SELECT DISTINCT 'devices' AS tbl, t.user_id, t.device_id, NULL::text, NULL::text FROM devices t`,
      access_tokens: `SELECT DISTINCT 'access_tokens' AS tbl, t.user_id, t.device_id, NULL::text, NULL::text FROM access_tokens t`,
      refresh_tokens: `SELECT DISTINCT 'refresh_tokens' AS tbl, t.user_id, t.device_id, NULL::text, NULL::text FROM refresh_tokens t`,
    };
    const branches = Object.entries(orphanByTable)
      .filter(([, n]) => n > 0)
      .map(([table]) => `(${branchSql[table]} LEFT JOIN users ou ON ou.name = t.user_id WHERE ${isOrphanId('t.user_id', 'ou')} ORDER BY 2, 3, 4, 5 LIMIT ${MAX_EXAMPLES})`);
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
    findings.push(
      finding(
        'W_ORPHAN_ROWS',
        'warning',
        `${plural(orphanTotal, 'row')} ${pick(orphanTotal, 'belongs to a local user ID', 'belong to local user IDs')} without a users row; ` +
          `${pick(orphanTotal, 'it', 'they')} will be skipped (mas-cli syn2mas would abort on ${pick(orphanTotal, 'it', 'them')}).`,
        {
          fix: 'Nothing to do: they are skipped and listed in the report. To get rid of them, delete them from the Synapse database (after a backup).',
          details: { byTable: Object.fromEntries(Object.entries(orphanByTable).filter(([, n]) => n > 0)), examples },
        },
      ),
    );
  }

  // --- W_APPSERVICE_USERS ---
  db.step('W_APPSERVICE_USERS');
  const asTotal = users.appservice + users.appservice_invalid_localpart;
  if (asTotal > 0) {
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
    findings.push(
      finding(
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
      ),
    );
  }

  // --- W_GUESTS_IN_DATABASE ---
  db.step('W_GUESTS_IN_DATABASE');
  if (users.guests > 0) {
    findings.push(
      finding(
        'W_GUESTS_IN_DATABASE',
        'warning',
        `${plural(users.guests, 'guest user')} will be migrated with the guest flag, but MAS cannot issue guest tokens; their devices and tokens are not migrated.`,
        {
          fix: "Nothing to do if you do not need guest access. Turn allow_guest_access off in Synapse (MAS does not support guests).",
          details: { count: users.guests },
        },
      ),
    );
  }

  // --- W_NON_EMAIL_THREEPIDS ---
  db.step('W_NON_EMAIL_THREEPIDS');
  const nonEmailTotal = Object.values(nonEmailByMedium).reduce((s, n) => s + n, 0);
  if (nonEmailTotal > 0) {
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
    findings.push(
      finding(
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
      ),
    );
  }

  // --- W_DUPLICATE_EMAILS ---
  db.step('W_DUPLICATE_EMAILS');
  {
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
    if (dup !== undefined && dup.addresses > 0) {
      findings.push(
        finding(
          'W_DUPLICATE_EMAILS',
          'warning',
          `${plural(dup.addresses, 'email address', 'email addresses')} (compared ignoring case) ${dup.addresses === 1 ? 'belongs' : 'belong'} to more than one user ` +
            `(${plural(dup.users, 'user')} in all); MAS will import them on each account, so a login or recovery by email is ambiguous.`,
          {
            fix: 'Decide which account keeps each address and remove it from the others in Synapse (or in MAS after the migration).',
            details: { addresses: dup.addresses, users: dup.users, examples: dup.examples ?? [] },
          },
        ),
      );
    }
  }

  // --- W_CASE_COLLIDING_USERNAMES ---
  db.step('W_CASE_COLLIDING_USERNAMES');
  {
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
    if (col !== undefined && col.groups > 0) {
      findings.push(
        finding(
          'W_CASE_COLLIDING_USERNAMES',
          'warning',
          `${plural(col.users, 'user')} in ${plural(col.groups, 'group')} have usernames that differ only in case; MAS looks usernames up ignoring case, so these users may be unable to log in by username.`,
          {
            fix: 'Deactivate all but one account of each group in Synapse before migrating, or have those users log in by another means (SSO, email).',
            details: { groups: col.groups, users: col.users, examples: col.examples ?? [] },
          },
        ),
      );
    }
  }

  // --- W_NONSTANDARD_LOCALPARTS ---
  db.step('W_NONSTANDARD_LOCALPARTS');
  if (users.nonstandard > 0) {
    const { rows } = await db.query<{ name: string; lp: string }>(
      `SELECT u.name, ${localpart('u.name')} AS lp FROM users u
        WHERE ${isMigratable('u')} AND ${isNonstandardLocalpart(localpart('u.name'))} ORDER BY 1 LIMIT ${MAX_EXAMPLES}`,
      params,
    );
    findings.push(
      finding(
        'W_NONSTANDARD_LOCALPARTS',
        'warning',
        `${plural(users.nonstandard, 'user')} to migrate ${users.nonstandard === 1 ? 'has a username' : 'have usernames'} outside MAS's rules ` +
          "(a-z, 0-9 and = _ - . / +, not starting with '_', 1 to 255 characters); they are migrated as they are.",
        {
          fix: 'Nothing blocks the migration. MAS keeps these usernames, but some MAS features (e.g. registering or renaming) apply the stricter rules.',
          details: { count: users.nonstandard, examples: rows.map((r) => ({ userId: r.name, problems: localpartProblems(r.lp) })) },
        },
      ),
    );
  }

  // --- W_TOKENS_ON_HIDDEN_DEVICES ---
  db.step('W_TOKENS_ON_HIDDEN_DEVICES');
  const hiddenAccess = plan.accessTokens.skipped['hidden_device'] ?? 0;
  const hiddenRefresh = plan.refreshTokens.skipped['hidden_device'] ?? 0;
  if (hiddenAccess + hiddenRefresh > 0) {
    const { rows } = await db.query<{ user_id: string; device_id: string; token_type: string; guest_device: boolean }>(
      `${REFRESH_WITH}
       SELECT * FROM (
         (SELECT DISTINCT a.user_id, a.device_id, 'access' AS token_type, a.device_id = 'guest_device' AS guest_device
            FROM devices d JOIN access_tokens a ON a.user_id = d.user_id AND a.device_id = d.device_id
            LEFT JOIN users u ON u.name = a.user_id
           WHERE ${DEVICE_NOT_MIGRATED} AND a.refresh_token_id IS NULL AND a.puppets_user_id IS NULL AND ${AT_REASON} = 'hidden_device')
         UNION
         (SELECT DISTINCT x.user_id, x.device_id, 'refresh', x.device_id = 'guest_device'
            ${REFRESH_FROM} WHERE ${REFRESH_REASON} = 'hidden_device')
       ) h ORDER BY 1, 2, 3 LIMIT ${MAX_EXAMPLES}`,
      params,
    );
    findings.push(
      finding(
        'W_TOKENS_ON_HIDDEN_DEVICES',
        'warning',
        `${plural(hiddenAccess, 'access token')} and ${plural(hiddenRefresh, 'refresh token pair')} belong to device rows that are hidden ` +
          "(cross-signing keys) or 'guest_device', which are not migrated as sessions; they are skipped (mas-cli syn2mas would fail at the end on them).",
        {
          fix:
            'Nothing to do with mas-tool: these tokens are skipped and their clients have to log in again. If you migrate with mas-cli syn2mas ' +
            'instead, delete these tokens from the Synapse database first.',
          details: {
            accessTokens: hiddenAccess,
            refreshTokens: hiddenRefresh,
            examples: rows.map((r) => ({ userId: r.user_id, deviceId: r.device_id, token: r.token_type, device: r.guest_device ? 'guest_device' : 'hidden' })),
          },
        },
      ),
    );
  }

  // --- W_INVALID_DEVICE_IPS ---
  db.step('W_INVALID_DEVICE_IPS');
  if (invalidIps > 0) {
    const { rows } = await db.query<{ user_id: string; device_id: string; ip: string }>(
      `SELECT d.user_id, d.device_id, d.ip ${DEVICE_FROM}
        WHERE ${DEVICE_REASON} = 'migrate' AND ${ipIsInvalid} ORDER BY 1, 2 LIMIT ${MAX_EXAMPLES}`,
      params,
    );
    findings.push(
      finding(
        'W_INVALID_DEVICE_IPS',
        'warning',
        `${plural(invalidIps, 'device')} to migrate ${invalidIps === 1 ? 'has' : 'have'} a last-seen IP that is not a single IPv4 or IPv6 address; ` +
          `${pick(invalidIps, 'it', 'they')} will be migrated without an IP.`,
        {
          fix: 'Nothing to do: the IP is refreshed when the client next connects.',
          details: { count: invalidIps, examples: rows.map((r) => ({ userId: r.user_id, deviceId: r.device_id, ip: r.ip })) },
        },
      ),
    );
  }

  // --- W_BACKGROUND_UPDATES_PENDING ---
  db.step('W_BACKGROUND_UPDATES_PENDING');
  if (present.has('background_updates')) {
    const { rows } = await db.query<{ n: number; names: string[] | null }>(
      `SELECT (SELECT count(*)::int FROM background_updates) AS n,
              (SELECT array_agg(update_name ORDER BY ordering, update_name)
                 FROM (SELECT update_name, ordering FROM background_updates ORDER BY ordering, update_name LIMIT ${MAX_EXAMPLES}) b) AS names`,
    );
    const bg = rows[0];
    if (bg !== undefined && bg.n > 0) {
      findings.push(
        finding(
          'W_BACKGROUND_UPDATES_PENDING',
          'warning',
          `Synapse has ${plural(bg.n, 'unfinished background update')}; the database may lack indexes or data fixes the migration relies on.`,
          {
            fix:
              'Let Synapse run until they are done (the background_updates table is empty), or run them offline: ' +
              'update_synapse_database --database-config homeserver.yaml --run-background-updates',
            details: { count: bg.n, updates: bg.names ?? [] },
          },
        ),
      );
    }
  }

  return { findings, facts, timings: db.timings };
}
