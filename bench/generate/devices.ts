// Devices: the visible ones, with the token plan of each, and the hidden cross-signing rows.
import { FENCE, LAST_VALIDATED_SINCE_MS, type GenContext } from './context.js';
import { pickFrom } from './random-sql.js';

const DEVICE_NAMES = ['Element Android', 'Element iOS', 'Element Desktop', 'Element X Android', 'Element X iOS', 'app.element.io: Firefox on Linux', 'app.element.io: Chrome on Windows', 'FluffyChat', 'Cinny', 'Nheko', 'SchildiChat', 'Fractal', 'gomuks', 'matrix-nio bot'];
const USER_AGENTS = [
  'Element/1.6.10 (Google Pixel 8; Android 14; UP1A.231105.001; Flavour GooglePlay; MatrixAndroidSdk2 1.6.10)',
  'Element/1.11.80 (iPhone; iOS 17.5; Scale/3.00)',
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Element/1.11.70 Chrome/124.0.6367.243 Electron/30.1.2 Safari/537.36',
  'Element X/25.10.0 (Android 14; Pixel 7)',
  'Element X/25.10.0 (iOS 17.5; iPhone15,2)',
  'FluffyChat/1.20.0 (Android 13)',
  'python-requests/2.31.0',
  'mautrix-go/v0.19.0',
];
/** Device IPs that are not one address: a proxy's list, junk, a short IPv4 tail, leading zeros, a CIDR. */
const INVALID_IPS = ['unknown', '::ffff:10.1.2', '192.168.001.10', '10.0.0.0/8'];
const IPV6_PREFIXES = ['2a01:cb00', '2001:db8', '2600:1700', '2a02:8108', '2a00:23c5'];
/** Device ids are key * DEVICE_KEY + d; no user has this many devices. */
const DEVICE_KEY = 4096;

export function addDeviceSteps(ctx: GenContext): void {
  const { h, u, bytes32, deviceId, between, step } = ctx;
  // g_devices: one row per visible device, with its token plan.
  const ipv4 = (x: string): string =>
    `((${x} >> 24) % 223 + 1)::text || '.' || ((${x} >> 16) & 255)::text || '.' || ((${x} >> 8) & 255)::text || '.' || (${x} & 255)::text`;
  const x1 = h('dkey', 'ip-1');
  const x2 = h('dkey', 'ip-2');
  step(
    'plan devices',
    `CREATE TEMP TABLE g_devices ON COMMIT DROP AS
     SELECT i, d, dkey, kind, user_id, lp_b64, device_id, first_ms, last_seen,
            CASE WHEN last_seen IS NULL THEN NULL
                 WHEN ipk < 850 THEN ${ipv4(x1)}
                 WHEN ipk < 930 THEN ${pickFrom(IPV6_PREFIXES, x2)} || ':' || to_hex(${x1} & 65535) || ':' || to_hex((${x1} >> 16) & 65535) || '::' || to_hex(${x2} & 65535)
                 WHEN ipk < 960 THEN '-'
                 WHEN ipk < 980 THEN NULL
                 WHEN ipk < 990 THEN ${ipv4(x1)} || ', ' || ${ipv4(x2)}
                 ELSE ${pickFrom(INVALID_IPS, x2)} END AS ip,
            CASE WHEN last_seen IS NULL OR kind = 'appservice' THEN NULL ELSE ${pickFrom(USER_AGENTS, h('dkey', 'user-agent'))} END AS user_agent,
            CASE WHEN kind IN ('guest', 'appservice') OR ${u('dkey', 'unnamed')} < 0.05 THEN NULL ELSE ${pickFrom(DEVICE_NAMES, h('dkey', 'device-name'))} END AS display_name,
            CASE WHEN kind = 'guest' THEN 'none' WHEN kind = 'appservice' THEN 'single'
                 WHEN tk < 20 THEN 'none'
                 -- Refresh tokens arrived with Synapse 1.38 (July 2021).
                 WHEN tk < 70 THEN CASE WHEN first_ms >= ${LAST_VALIDATED_SINCE_MS} THEN 'refresh' ELSE 'single' END
                 WHEN tk < 90 THEN 'double' ELSE 'single' END AS tclass,
            CASE WHEN rk < 7 THEN 'current' WHEN rk < 9 THEN 'superseded' ELSE 'unconfirmed' END AS rkind
       FROM (
         SELECT x.*,
                CASE WHEN kind = 'guest' THEN 'guest_device' ELSE ${deviceId('i', 'd')} END AS device_id,
                CASE WHEN ${u('dkey', 'never-seen')} < 0.02 THEN NULL ELSE ${between('first_ms', 'dkey', 'last-seen')} END AS last_seen,
                ${h('dkey', 'ip')} % 1000 AS ipk,
                ${h('dkey', 'token-class')} % 1000 AS tk,
                ${h('dkey', 'refresh-kind')} % 10 AS rk
           FROM (
             SELECT i, d, dkey, kind, user_id, lp_b64, ${between('created_ms', 'dkey', 'first-seen')} AS first_ms
               FROM (
                 -- A set-returning function in the select list (ProjectSet) is much faster than a LATERAL join.
                 SELECT i, i::bigint * ${DEVICE_KEY} + generate_series(1, ndev) AS dkey, generate_series(1, ndev) AS d,
                        kind, name AS user_id, lp_b64, created_ms
                   FROM g_users WHERE ndev > 0
               ) s
             ${FENCE}
           ) x
         ${FENCE}
       ) y`,
  );

  step(
    'devices',
    `INSERT INTO devices (user_id, device_id, display_name, last_seen, ip, user_agent, hidden)
     SELECT user_id, device_id, display_name, last_seen, ip, user_agent, false FROM g_devices`,
  );

  // Cross-signing placeholders: device_id is the unpadded base64 public key.
  step(
    'devices (hidden)',
    `INSERT INTO devices (user_id, device_id, display_name, last_seen, ip, user_agent, hidden)
     SELECT name, rtrim(encode(${bytes32(`i::bigint * 8 + k`, 'cross-signing-key')}, 'base64'), '='),
            (ARRAY['master signing key', 'self_signing signing key', 'user_signing signing key'])[(k - 1) % 3 + 1],
            NULL, NULL, NULL, true
       FROM (SELECT i, name, generate_series(1, xsign) AS k FROM g_users WHERE xsign > 0) x`,
  );
}
