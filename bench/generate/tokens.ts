// Access and refresh tokens: per device, refresh sessions, and the few special ones (puppets,
// deviceless, device missing).
import { DAY_MS, FENCE, LAST_VALIDATED_SINCE_MS, type GenContext } from './context.js';
import { base62 } from './random-sql.js';

/** Synapse 1.34 (May 2021) replaced macaroon access tokens with syt_ tokens. */
const SYT_SINCE_MS = Date.UTC(2021, 4, 17);

export function addTokenSteps(ctx: GenContext): void {
  const { h, u, bytes32, window, letters20, n, server, checksum, between, step } = ctx;
  let lastTokenId = 0;
  const tokenIds = (rows: number): void => void (lastTokenId += rows);

  // Access tokens. Ids are consecutive over all the statements below, and a token's random letters
  // come from its id, so they are all distinct.
  const macaroon = (key: string): string =>
    `'MDAx' || replace(replace(replace(replace(encode(convert_to('8location ' || ${server} || E'\\nidentifier key\\n', 'UTF8')
       || ${bytes32(key, 'macaroon-1')} || ${bytes32(key, 'macaroon-2')} || ${bytes32(key, 'macaroon-3')}, 'base64'), E'\\n', ''), '+', '-'), '/', '_'), '=', '')`;
  /**
   * access_tokens rows from `rows` (columns user_id, device_id, lp_b64, created, valid_until,
   * is_macaroon, tkey, and whatever `extra` names); user_id is the localpart the token names.
   */
  const insertAccessTokens = (rows: string, extra: { owner?: string; puppets?: string; refresh?: string; used?: string } = {}): string =>
    `INSERT INTO access_tokens (id, user_id, device_id, token, valid_until_ms, puppets_user_id, last_validated, refresh_token_id, used)
     SELECT id, ${extra.owner ?? 'user_id'}, device_id, CASE WHEN is_macaroon THEN base ELSE base || '_' || ${base62('c')} END,
            valid_until, ${extra.puppets ?? 'NULL'},
            CASE WHEN created >= ${LAST_VALIDATED_SINCE_MS} THEN created END,
            ${extra.refresh ?? 'NULL'},
            ${extra.used ?? `CASE WHEN created >= ${LAST_VALIDATED_SINCE_MS} THEN false END`}
       FROM (
         SELECT b.*, CASE WHEN is_macaroon THEN 0 ELSE ${checksum('base')} END AS c
           FROM (
             SELECT r.*, CASE WHEN is_macaroon THEN ${macaroon('tkey')} ELSE 'syt_' || lp_b64 || '_' || ${letters20('id', 'syt')} END AS base
               FROM (SELECT ${lastTokenId} + row_number() OVER () AS id, q.* FROM (${rows}) q ${FENCE}) r
             ${FENCE}
           ) b
         ${FENCE}
       ) z`;
  step(
    'access_tokens',
    () => insertAccessTokens(`
      SELECT user_id, device_id, lp_b64, created, valid_until, created < ${SYT_SINCE_MS} AS is_macaroon, tkey
        FROM (
          SELECT user_id, device_id, lp_b64, dkey * 4 + k AS tkey,
                 CASE WHEN k = 1 THEN first_ms ELSE ${between('first_ms', 'dkey', 'second-token')} END AS created,
                 CASE WHEN ${u('dkey', 'expiring')} < 0.01 THEN first_ms + ${30 * DAY_MS} END AS valid_until
            FROM (SELECT user_id, device_id, lp_b64, dkey, first_ms, generate_series(1, CASE tclass WHEN 'double' THEN 2 ELSE 1 END) AS k
                    FROM g_devices WHERE tclass IN ('single', 'double')) g
          ${FENCE}
        ) t`),
    tokenIds,
  );

  // Refresh-token sessions: refresh token 2k is the current one, 2k - 1 the one it replaced.
  step(
    'plan refresh sessions',
    `CREATE TEMP TABLE g_refresh ON COMMIT DROP AS
     SELECT k, user_id, device_id, lp_b64, rkind, dkey, gen, CASE gen WHEN 2 THEN 2 * k ELSE 2 * k - 1 END AS rt_id,
            CASE gen WHEN 1 THEN 2 * k END AS next_id,
            CASE gen WHEN 2 THEN lv ELSE lv - 300000 END AS validated,
            CASE WHEN gen = 1 OR rkind = 'superseded' THEN true WHEN rkind = 'unconfirmed' THEN false ELSE ${u('dkey', 'refresh-used')} >= 0.15 END AS used
       FROM (SELECT row_number() OVER (ORDER BY i, d) AS k, user_id, device_id, lp_b64, rkind, dkey, coalesce(last_seen, first_ms) AS lv
               FROM g_devices WHERE tclass = 'refresh') s
      CROSS JOIN LATERAL (VALUES (2), (1)) AS g (gen)
      WHERE gen = 2 OR rkind <> 'current'`,
  );
  step(
    'refresh_tokens',
    `INSERT INTO refresh_tokens (id, user_id, device_id, token, next_token_id, expiry_ts, ultimate_session_expiry_ts)
     SELECT rt_id, user_id, device_id, base || '_' || ${base62('c')}, next_id, NULL, NULL
       FROM (
         SELECT b.*, ${checksum('base')} AS c
           FROM (SELECT rt_id, user_id, device_id, next_id, 'syr_' || lp_b64 || '_' || ${letters20('rt_id', 'syr')} AS base FROM g_refresh ${FENCE}) b
         ${FENCE}
       ) z`,
  );
  step(
    'access_tokens (refreshable)',
    () => insertAccessTokens(
      `SELECT user_id, device_id, lp_b64, validated AS created, validated + 300000 AS valid_until, false AS is_macaroon, 0::bigint AS tkey, rt_id, used
         FROM g_refresh`,
      { refresh: 'rt_id', used: 'used' },
    ),
    tokenIds,
  );

  // A few special tokens. Users are picked by hash; `p` is about 4x the share needed, then LIMIT.
  const few = Math.max(2, Math.round(n / 50_000));
  const p = Math.min(1, (few * 4) / n + 0.02);
  step(
    'access_tokens (puppets)',
    () => insertAccessTokens(
      `SELECT a.name AS admin_name, t.name AS user_id, NULL::text AS device_id, t.lp_b64, t.created, t.created + ${DAY_MS} AS valid_until,
              false AS is_macaroon, 0::bigint AS tkey
         FROM (SELECT i, name, lp_b64, ${between(`greatest(created_ms, ${LAST_VALIDATED_SINCE_MS})`, 'i', 'puppet-at')} AS created,
                      row_number() OVER (ORDER BY ${h('i', 'puppet-pick')}) - 1 AS rn
                 FROM g_users WHERE kind = 'normal' AND ${u('i', 'puppet')} < ${p} ORDER BY ${h('i', 'puppet-pick')} LIMIT ${few}) t
         JOIN (SELECT name, row_number() OVER (ORDER BY i) - 1 AS rn, count(*) OVER () AS cnt FROM g_users WHERE kind = 'admin') a
           ON a.rn = t.rn % a.cnt`,
      // The owner is the admin; the token names the puppet, as Synapse makes it.
      { owner: 'admin_name', puppets: 'user_id' },
    ),
    tokenIds,
  );
  step(
    'access_tokens (deviceless, device missing)',
    () => insertAccessTokens(
      `(SELECT name AS user_id, NULL::text AS device_id, lp_b64, ${between(`greatest(created_ms, ${LAST_VALIDATED_SINCE_MS})`, 'i', 'deviceless-at')} AS created,
               NULL::bigint AS valid_until, false AS is_macaroon, 0::bigint AS tkey
          FROM g_users WHERE kind = 'normal' AND ${u('i', 'deviceless')} < ${p} ORDER BY ${h('i', 'deviceless-pick')} LIMIT ${few})
       UNION ALL
       (SELECT name, 'GONE' || convert_from(${window('upper', h('i', 'gone-device'), 6)}, 'UTF8'), lp_b64,
               ${between(`greatest(created_ms, ${LAST_VALIDATED_SINCE_MS})`, 'i', 'gone-at')}, NULL, false, 0
          FROM g_users WHERE kind = 'normal' AND ndev > 0 AND ${u('i', 'gone')} < ${p} ORDER BY ${h('i', 'gone-pick')} LIMIT ${few})`,
    ),
    tokenIds,
  );
}
