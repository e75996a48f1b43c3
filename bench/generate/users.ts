// The users and what hangs off a user alone: third-party IDs and SSO links.
import { FENCE, type GenContext } from './context.js';
import { arr, pickFrom } from './random-sql.js';

const FIRST = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'niaj', 'olivia', 'peggy', 'rupert', 'sybil', 'trent', 'victor', 'walter', 'yusuf', 'zoe', 'amira', 'bjorn', 'chen', 'dmitri', 'elena', 'fatima', 'giulia', 'hiro', 'ines', 'jonas', 'kwame', 'lena', 'mateo', 'noor', 'oskar', 'priya', 'quentin', 'rosa', 'sven'];
const LAST = ['smith', 'jones', 'garcia', 'muller', 'rossi', 'dubois', 'kowalski', 'nguyen', 'tanaka', 'silva', 'novak', 'jensen', 'haddad', 'okafor', 'schmidt', 'moreau', 'lopez', 'ivanova', 'kim', 'patel', 'berg', 'costa', 'weber', 'fischer'];
const DOMAINS = ['gmail.com', 'proton.me', 'outlook.com', 'posteo.de', 'yahoo.com', 'example.org', 'mailbox.org', 'fastmail.com', 'uni-example.edu', 'corp.example.com'];
/** The kinds of the first users, so that a small data set has every case (more fixed traits below). */
const FIXED_KINDS = ['admin', 'locked', 'guest', 'deactivated', 'appservice', 'appservice', 'normal', 'normal', 'normal', 'normal', 'normal', 'normal', 'normal'];
/** Eight years, in seconds. */
const SPAN_S = Math.round(8 * 365.25 * 86_400);
/** users.approved (delta 73/03). */
const APPROVED_SINCE_S = Date.UTC(2022, 11, 13) / 1000;

export function addUserSteps(ctx: GenContext): void {
  const { h, u, bytes32, bytes64, nowS, n, server, between, step } = ctx;
  // A person's localpart from series index `i`: a name, then the index (so unique: the name part never
  // ends with a digit).
  const personLp = (i: string): string => `(CASE ${h(i, 'pattern')} % 10
      WHEN 0 THEN ${pickFrom(FIRST, h(i, 'first'))} || '.' || ${pickFrom(LAST, h(i, 'last'))}
      WHEN 1 THEN ${pickFrom(FIRST, h(i, 'first'))} || '.' || ${pickFrom(LAST, h(i, 'last'))}
      WHEN 2 THEN ${pickFrom(FIRST, h(i, 'first'))} || '.' || ${pickFrom(LAST, h(i, 'last'))}
      WHEN 3 THEN ${pickFrom(FIRST, h(i, 'first'))} || '_' || ${pickFrom(LAST, h(i, 'last'))}
      WHEN 4 THEN left(${pickFrom(FIRST, h(i, 'first'))}, 1) || ${pickFrom(LAST, h(i, 'last'))}
      WHEN 5 THEN left(${pickFrom(FIRST, h(i, 'first'))}, 1) || ${pickFrom(LAST, h(i, 'last'))}
      WHEN 6 THEN ${pickFrom(FIRST, h(i, 'first'))} || '-' || ${pickFrom(LAST, h(i, 'last'))}
      ELSE ${pickFrom(FIRST, h(i, 'first'))} END || (${i})::text)`;
  const domain = (i: string): string => pickFrom(DOMAINS, h(i, 'domain'));

  // g_users: one row per user, with everything the later statements derive from.
  // The local part of a person's addresses: unique, also when the username differs from another only by case.
  const mailLp = `CASE WHEN collide THEN lower(${personLp('i')}) ELSE lower(lp) END`;
  step(
    'plan users',
    `CREATE TEMP TABLE g_users ON COMMIT DROP AS
     SELECT i, kind, human, bridge, lp, '@' || lp || ':' || ${server} AS name,
            rtrim(replace(encode(convert_to(lp, 'UTF8'), 'base64'), E'\\n', ''), '=') AS lp_b64,
            created_s, created_s * 1000 AS created_ms, sso, sso_only, ndev,
            CASE WHEN human AND ndev > 0 AND (i <= 2 OR ${u('i', 'xsign')} < 0.385) THEN CASE WHEN ${u('i', 'xsign-reset')} < 0.1 THEN 6 ELSE 3 END ELSE 0 END AS xsign,
            CASE WHEN has_email THEN
                   CASE WHEN dup_email THEN initcap(lower(${personLp('i - 1')}) || '@' || ${domain('i - 1')}) ELSE ${mailLp} || '@' || ${domain('i')} END
            END AS email,
            CASE WHEN has_email2 THEN ${mailLp} || '+matrix@' || ${pickFrom(DOMAINS, h('i', 'domain2'))} END AS email2,
            CASE WHEN has_msisdn THEN CASE WHEN ${h('i', 'cc')} % 2 = 0 THEN '4477' ELSE '49151' END || lpad((i % 100000000)::text, 8, '0') END AS msisdn
       FROM (
         SELECT f.*,
                CASE kind
                  WHEN 'appservice' THEN CASE bridge WHEN 'telegram' THEN 'telegram_' || (10000000 + i) ELSE 'whatsapp_' || (447700000000 + i) END
                  WHEN 'guest' THEN i::text
                  ELSE CASE WHEN collide THEN initcap(${personLp('i - 1')}) WHEN capital THEN initcap(${personLp('i')}) ELSE ${personLp('i')} END
                END AS lp,
                (CASE WHEN human THEN
                        CASE WHEN power THEN 50 + ${h('i', 'power-n')} % 451
                             ELSE CASE WHEN b < 15 THEN 0 WHEN b < 40 THEN 1 WHEN b < 62 THEN 2 WHEN b < 77 THEN 3 WHEN b < 87 THEN 4
                                       WHEN b < 96 THEN 5 + ${h('i', 'ndev2')} % 3 ELSE 8 + ${h('i', 'ndev2')} % 8 END END
                      WHEN kind IN ('appservice', 'guest') THEN 1 ELSE 0 END)::int AS ndev
           FROM (
             SELECT i, kind, human,
                    CASE WHEN kind = 'appservice' THEN CASE WHEN i = 5 OR (i <> 6 AND ${h('i', 'bridge')} % 5 < 3) THEN 'telegram' ELSE 'whatsapp' END END AS bridge,
                    ${nowS} - floor(${SPAN_S} * (1 - sqrt(${u('i', 'created')})))::bigint AS created_s,
                    ${h('i', 'ndev')} % 100 AS b,
                    human AND (i = 7 OR ${u('i', 'power')} < 0.0005) AS power,
                    sso,
                    sso AND (i = 8 OR ${u('i', 'sso-only')} < 0.6) AS sso_only,
                    human AND (i = 12 OR (i > 14 AND ${u('i', 'case-collide')} < 0.0002 AND ${u('i - 1', 'capital')} >= 0.003)) AS collide,
                    human AND (i = 13 OR (i > 13 AND ${u('i', 'capital')} < 0.003)) AS capital,
                    human AND (i <= 11 OR ${u('i', 'email')} < 0.88) AS has_email,
                    i > 1 AND (i = 10 OR (i > 13 AND ${u('i', 'email-dup')} < 0.002)) AS dup_email,
                    human AND (i = 11 OR ${u('i', 'email2')} < 0.0264) AS has_email2,
                    human AND (i = 9 OR ${u('i', 'msisdn')} < 0.022) AS has_msisdn
               FROM (
                 SELECT i, kind, kind IN ('normal', 'admin', 'locked') AS human,
                        kind IN ('normal', 'admin', 'locked', 'deactivated') AND (i = 4 OR i = 8 OR ${u('i', 'sso')} < 0.053) AS sso
                   FROM (
                     SELECT i, CASE WHEN i <= ${FIXED_KINDS.length} THEN (${arr(FIXED_KINDS)})[i] ELSE
                                 CASE WHEN r < 500 THEN 'appservice' WHEN r < 600 THEN 'guest' WHEN r < 900 THEN 'deactivated'
                                      WHEN r < 950 THEN 'locked' WHEN r < 960 THEN 'admin' ELSE 'normal' END END AS kind
                       FROM (SELECT i, ${h('i', 'kind')} % 10000 AS r FROM generate_series(1, ${n}) AS i) k
                     ${FENCE}
                   ) k2
                 ${FENCE}
               ) k3
             ${FENCE}
           ) f
         ${FENCE}
       ) l`,
  );

  step(
    'users',
    `INSERT INTO users (name, password_hash, creation_ts, admin, upgrade_ts, is_guest, appservice_id, consent_version,
                        consent_server_notice_sent, user_type, deactivated, shadow_banned, consent_ts, approved, locked, suspended)
     SELECT name,
            CASE WHEN human AND NOT sso_only THEN '$2b$12$' || replace(substr(encode(${bytes64('i', 'password')}, 'base64'), 1, 53), '+', '.') END,
            created_s,
            (kind = 'admin')::int,
            NULL,
            (kind = 'guest')::int,
            bridge,
            CASE WHEN human AND ${u('i', 'consent')} < 0.3 THEN '1.0' END,
            CASE WHEN human AND ${u('i', 'consent')} < 0.35 THEN '1.0' END,
            CASE WHEN kind = 'appservice' AND i % 97 = 0 THEN 'bot' END,
            (kind = 'deactivated')::int,
            CASE WHEN created_s >= ${APPROVED_SINCE_S} THEN ${u('i', 'shadow-banned')} < 0.001 END,
            CASE WHEN human AND ${u('i', 'consent')} < 0.3 THEN created_ms + 60000 END,
            CASE WHEN created_s >= ${APPROVED_SINCE_S} THEN true END,
            kind = 'locked',
            human AND i > 13 AND ${u('i', 'suspended')} < 0.0005
       FROM g_users`,
  );

  step(
    'user_threepids',
    `INSERT INTO user_threepids (user_id, medium, address, validated_at, added_at)
     SELECT name, medium, address, added, added
       FROM (
         SELECT name, 'email' AS medium, email AS address, ${between('created_ms', 'i', 'email-at')} AS added FROM g_users WHERE email IS NOT NULL
         UNION ALL
         SELECT name, 'email', email2, ${between('created_ms', 'i', 'email2-at')} FROM g_users WHERE email2 IS NOT NULL
         UNION ALL
         SELECT name, 'msisdn', msisdn, ${between('created_ms', 'i', 'msisdn-at')} FROM g_users WHERE msisdn IS NOT NULL
       ) t`,
  );

  // GitHub subjects are numeric user ids, Keycloak's are UUIDs.
  step(
    'user_external_ids',
    `INSERT INTO user_external_ids (auth_provider, external_id, user_id)
     SELECT p.provider,
            CASE p.provider WHEN 'oidc-github' THEN (1000000 + i::bigint * 7)::text ELSE encode(substr(${bytes32('i', 'keycloak')}, 1, 16), 'hex')::uuid::text END,
            name
       FROM (SELECT i, name, CASE WHEN i = 4 OR i = 8 OR ${u('i', 'providers')} < 0.1 THEN 3 WHEN ${u('i', 'providers')} < 0.7 THEN 1 ELSE 2 END AS which
               FROM g_users WHERE sso) s
       JOIN (VALUES (1, 'oidc-github'), (2, 'oidc-keycloak')) AS p (bit, provider) ON s.which & p.bit <> 0`,
  );
}
