// SQL that classifies Synapse rows the way a migration treats them: which user IDs are local, which
// users, devices and tokens are migrated, and why the others are skipped. Shared by the pre-flight
// check (which counts) and the migration reader (which streams), so that the plan a check shows is
// exactly what a migration does. Every fragment takes the server name as the query's $1.
export const SERVER = '$1::text';

/** True when the user ID is local: '@', then the localpart, then the FIRST ':', then exactly the server name. */
export function isLocal(id: string): string {
  return `coalesce(left(${id}, 1) = '@' AND strpos(${id}, ':') > 0 AND substr(${id}, strpos(${id}, ':') + 1) = ${SERVER}, false)`;
}

/** The localpart of a local user ID (never an error on other text: PostgreSQL may evaluate it before a filter). */
export function localpart(id: string): string {
  return `substr(${id}, 2, greatest(strpos(${id}, ':') - 2, 0))`;
}

/**
 * True for an appservice user (users row alias `u`) whose ID ends with ':' + server name but whose
 * localpart contains ':', so that it is not local by the first-':' rule. syn2mas ignores these.
 */
export function isAppserviceInvalid(u: string): string {
  return `coalesce(${u}.appservice_id IS NOT NULL AND left(${u}.name, 1) = '@' AND length(${u}.name) > length(${SERVER}) + 2
    AND right(${u}.name, length(${SERVER}) + 1) = ':' || ${SERVER} AND NOT ${isLocal(`${u}.name`)}, false)`;
}

/** A users row (alias `u`) that the migration writes: local and not an appservice user. */
export function isMigratable(u: string): string {
  return `(${isLocal(`${u}.name`)} AND ${u}.appservice_id IS NULL)`;
}

/** The class of a users row (alias u): 'migrate' or one of PLAN_SKIP_REASONS.users. */
export const USER_CLASS = `CASE
    WHEN ${isLocal('u.name')} THEN CASE WHEN u.appservice_id IS NOT NULL THEN 'appservice' ELSE 'migrate' END
    WHEN ${isAppserviceInvalid('u')} THEN 'appservice_invalid_localpart'
    ELSE 'foreign' END`;

/**
 * The owner WHEN branches for a row whose user ID is `id`, joined with LEFT JOIN users u ON
 * u.name = id. The four cases are disjoint, so their order here does not matter.
 */
export function ownerWhens(id: string): string {
  return `WHEN u.name IS NOT NULL AND ${isAppserviceInvalid('u')} THEN 'appservice_invalid_localpart'
    WHEN NOT ${isLocal(id)} THEN 'foreign'
    WHEN u.name IS NULL THEN 'orphan'
    WHEN u.appservice_id IS NOT NULL THEN 'appservice'`;
}

/**
 * True for a row whose user ID `id` is not local, unless it belongs to an appservice user with ':'
 * in the localpart. `owner` is the alias of `LEFT JOIN users owner ON owner.name = id`: a join, not
 * a subquery per row, so that the query stays a hash join (see src/db/bulk-plans.ts).
 */
export function isForeignId(id: string, owner: string): string {
  return `(CASE WHEN ${id} IS NOT NULL AND ${isLocal(id)} THEN false
    ELSE NOT coalesce(${owner}.name IS NOT NULL AND ${isAppserviceInvalid(owner)}, false) END)`;
}

/** True for a row whose user ID is local but has no users row; `owner` as for isForeignId. */
export function isOrphanId(id: string, owner: string): string {
  return `(${isLocal(id)} AND ${owner}.name IS NULL)`;
}

/** A device row (alias d, possibly NULL-extended) that syn2mas does not migrate: hidden (or NULL) or 'guest_device'. */
export const DEVICE_NOT_MIGRATED = `(d.hidden IS NOT FALSE OR d.device_id = 'guest_device')`;

/** MAS username rules: a-z 0-9 = _ - . / +, not starting with '_', 1 to 255 characters. */
export function isNonstandardLocalpart(lp: string): string {
  return `(${lp} !~ '^[a-z0-9=_./+-]+$' OR left(${lp}, 1) = '_' OR length(${lp}) > 255)`;
}

// IP addresses, as Node's net.isIP and Rust's IpAddr parser accept them, minus IPv6 zone IDs
// (an inet column does not take them). Bracket expressions instead of backslashes, so the text
// means the same in a SQL string literal and in a JavaScript RegExp.
export const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
export const IPV4 = `${OCTET}(?:[.]${OCTET}){3}`;
export const H16 = '[0-9A-Fa-f]{1,4}';
export const LS32 = `(?:${H16}:${H16}|${IPV4})`;
// "[ *n( h16 ":" ) h16 ]" of RFC 3986: up to n+1 groups before a '::'.
export const before = (n: number): string => (n === 0 ? `(?:${H16})?` : `(?:(?:${H16}:){0,${n}}${H16})?`);
export const IPV6 = [
  `(?:${H16}:){6}${LS32}`,
  `::(?:${H16}:){5}${LS32}`,
  `${before(0)}::(?:${H16}:){4}${LS32}`,
  `${before(1)}::(?:${H16}:){3}${LS32}`,
  `${before(2)}::(?:${H16}:){2}${LS32}`,
  `${before(3)}::${H16}:${LS32}`,
  `${before(4)}::${LS32}`,
  `${before(5)}::${H16}`,
  `${before(6)}::`,
].join('|');
/** Anchored regular expressions for an IPv4 and an IPv6 address (exported for tests). */
export const IPV4_PATTERN = `^${IPV4}$`;
export const IPV6_PATTERN = `^(?:${IPV6})$`;

/**
 * SQL that is true when the text `expr` is a single IPv4 or IPv6 address that MAS can store in an
 * inet column, as mas-cli syn2mas (Rust's IpAddr parser) and Node's net.isIP accept it (without
 * IPv6 zone IDs, which inet refuses). On PostgreSQL 16 and later pg_input_is_valid does the
 * parsing; extra conditions drop what inet takes but an address parser does not: CIDR suffixes
 * ('10.0.0.0/8'), IPv4 parts with leading zeros ('01.2.3.4') and short IPv4 tails
 * ('::ffff:1.2.3'). Older servers use regular expressions for the same set.
 */
export function validIpSql(expr: string, serverVersionNum: number): string {
  if (serverVersionNum >= 160000) {
    return `(pg_input_is_valid(${expr}, 'inet') AND ${expr} ~ '^[0-9A-Fa-f:.]+$'
      AND ${expr} !~ '(^|[.:])0[0-9]+[.]' AND ${expr} !~ '[.]0[0-9]'
      AND (strpos(${expr}, '.') = 0 OR ${expr} ~ '(^|:)[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$'))`;
  }
  return `(${expr} ~ '${IPV4_PATTERN}' OR ${expr} ~ '${IPV6_PATTERN}')`;
}

// Non-refreshable access tokens, each with its owner and device. Refreshable tokens get the
// reason 'refreshable' unless an owner reason applies (those count for the findings).
export const AT_FROM = `FROM access_tokens a
  LEFT JOIN users u ON u.name = a.user_id
  LEFT JOIN devices d ON d.user_id = a.user_id AND d.device_id = a.device_id`;
export const AT_REASON = `CASE ${ownerWhens('a.user_id')}
    WHEN a.refresh_token_id IS NOT NULL THEN 'refreshable'
    WHEN a.puppets_user_id IS NOT NULL THEN 'puppet'
    WHEN a.device_id IS NOT NULL AND d.user_id IS NULL THEN 'device_missing'
    WHEN u.deactivated <> 0 THEN 'deactivated_user'
    WHEN u.is_guest <> 0 THEN 'guest_user'
    WHEN a.device_id IS NOT NULL AND ${DEVICE_NOT_MIGRATED} THEN 'hidden_device'
    ELSE 'migrate' END`;

/**
 * Per refresh token id, whether every access token issued with it has been used (no row: none was
 * issued). A refresh pair whose refresh token's successor is all used is superseded: its client has
 * moved on. `restrict` narrows the access tokens read (an SQL condition starting with AND).
 */
export function successorUse(restrict = ''): string {
  return `SELECT refresh_token_id, bool_and(used IS TRUE) AS all_used FROM access_tokens
       WHERE refresh_token_id IS NOT NULL${restrict} GROUP BY refresh_token_id`;
}

// Refreshable tokens as units (see SynapseFacts.plan.refreshTokens). A pair is what syn2mas's
// query 5 joins: at.refresh_token_id = rt.id with the same user and device. A pair is superseded
// when its refresh token has a successor whose access tokens have all been used: syn2mas's LEFT
// JOIN on the successor's access tokens then yields no row for it.
export const REFRESH_WITH = `WITH p AS (
    SELECT a.user_id AS at_user, a.device_id AS at_device, a.used, a.refresh_token_id,
           a.id AS at_id, a.token AS at_token, a.valid_until_ms, a.last_validated, r.token AS rt_token,
           r.id AS rt_id, r.user_id, r.device_id, r.next_token_id,
           coalesce(r.id IS NOT NULL AND a.user_id = r.user_id AND a.device_id = r.device_id, false) AS paired
      FROM access_tokens a LEFT JOIN refresh_tokens r ON r.id = a.refresh_token_id
     WHERE a.refresh_token_id IS NOT NULL
  ), succ AS (
    SELECT refresh_token_id, bool_and(used IS TRUE) AS all_used FROM p GROUP BY refresh_token_id
  ), units AS (
    SELECT user_id, device_id, next_token_id, 'pair' AS kind,
           at_id, at_token, valid_until_ms, last_validated, rt_id, rt_token FROM p WHERE paired
    UNION ALL
    SELECT at_user, at_device, NULL::bigint, 'unpaired_access_token', NULL, NULL, NULL, NULL, NULL, NULL FROM p WHERE NOT paired
    UNION ALL
    SELECT r.user_id, r.device_id, NULL::bigint, 'no_access_token', NULL, NULL, NULL, NULL, NULL, NULL FROM refresh_tokens r
     WHERE NOT EXISTS (SELECT 1 FROM p WHERE p.rt_id = r.id AND p.paired)
  )`;
/**
 * REFRESH_WITH for the refresh tokens of some users only (`only`, a SQL text[]): their pairs, and
 * the access tokens of their tokens' successors, which decide whether a pair is superseded. Rows of
 * other users that this lets in are dropped by the caller's filter on x.user_id.
 */
export function refreshWith(only?: string): string {
  if (only === undefined) return REFRESH_WITH;
  const restricted = REFRESH_WITH.replace(
    'WHERE a.refresh_token_id IS NOT NULL\n',
    `WHERE a.refresh_token_id IS NOT NULL AND (a.user_id = ANY(${only})
       OR a.refresh_token_id IN (SELECT n.next_token_id FROM refresh_tokens n WHERE n.user_id = ANY(${only}) AND n.next_token_id IS NOT NULL))\n`,
  ).replace('WHERE NOT EXISTS (SELECT 1 FROM p WHERE p.rt_id = r.id AND p.paired)', `WHERE r.user_id = ANY(${only}) AND NOT EXISTS (SELECT 1 FROM p WHERE p.rt_id = r.id AND p.paired)`);
  if (restricted.split(only).length !== 4) throw new Error('internal error: REFRESH_WITH changed shape; refreshWith no longer restricts it');
  return restricted;
}

export const REFRESH_FROM = `FROM units x
  LEFT JOIN users u ON u.name = x.user_id
  LEFT JOIN devices d ON d.user_id = x.user_id AND d.device_id = x.device_id
  LEFT JOIN succ s ON s.refresh_token_id = x.next_token_id`;
export const REFRESH_REASON = `CASE ${ownerWhens('x.user_id')}
    WHEN x.kind <> 'pair' THEN x.kind
    WHEN s.all_used THEN 'superseded'
    WHEN d.user_id IS NULL THEN 'device_missing'
    WHEN u.deactivated <> 0 THEN 'deactivated_user'
    WHEN u.is_guest <> 0 THEN 'guest_user'
    WHEN ${DEVICE_NOT_MIGRATED} THEN 'hidden_device'
    ELSE 'migrate' END`;

export const DEVICE_FROM = `FROM devices d LEFT JOIN users u ON u.name = d.user_id`;
export const DEVICE_REASON = `CASE ${ownerWhens('d.user_id')}
    WHEN d.hidden IS NOT FALSE THEN 'hidden'
    WHEN d.device_id = 'guest_device' THEN 'guest_device'
    WHEN u.deactivated <> 0 THEN 'deactivated_user'
    WHEN u.is_guest <> 0 THEN 'guest_user'
    ELSE 'migrate' END`;


// Registration tokens belong to no user. The time they are judged at is the reading transaction's
// start (now()), so every query of one snapshot agrees, and a cut-over judges them when it runs.
// Used up counts completed registrations only: a pending one is a registration in progress in
// Synapse, which cannot finish once MAS takes over, so its use is not spent (Synapse itself counts
// pending + completed while it serves).
export const REGISTRATION_TOKEN_FROM = `FROM registration_tokens t`;
export const REGISTRATION_TOKEN_REASON = `CASE
    WHEN t.expiry_time < (extract(epoch FROM now()) * 1000)::bigint THEN 'expired'
    WHEN t.completed >= t.uses_allowed THEN 'used_up'
    ELSE 'migrate' END`;
