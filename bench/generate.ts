// Fills an empty Synapse schema (test/fixtures/synapse-schema.sql) with a realistic homeserver: people
// with passwords, emails and phone numbers, SSO links to two providers, devices with cross-signing
// placeholders, access and refresh tokens, guests, deactivated and locked accounts, bridge (appservice)
// users, puppet and deviceless tokens, and the small messes real servers have (case-variant emails and
// usernames, device IPs that are not one address, tokens whose device is gone, old macaroon tokens).
//
// Set-based SQL only: each table is filled by INSERT ... SELECT over generate_series, in one
// transaction, with the tables' indexes and constraints dropped during the load and rebuilt exactly
// as they were (from the catalog) at the end, so that a million users take well under a minute.
// Pseudo-randomness is hashint8extended() of a row key with a per-purpose seed derived from
// options.seed, so the same seed gives the same data; timestamps are relative to options.now.
// Random letters (device ids, the random part of tokens) are windows into a table of letters passed
// as a parameter; the windows are chosen from unique keys so that ids and tokens are unique by
// construction, not by luck.
//
// Proportions (of all users unless said otherwise), after synapse.md section 5:
//   5% appservice users ('telegram' 60% / 'whatsapp' 40%), one device and token each;
//   1% guests (numeric localparts, one 'guest_device' each, no tokens: Synapse does not store them);
//   3% deactivated (no password, devices, tokens or 3PIDs; their SSO links are kept, as Synapse does);
//   0.5% locked, 0.1% admins (both with sessions), 0.05% suspended; 0.3% usernames with capitals,
//   0.02% equal to another username but for case;
//   about 80% with an email (0.2% of them a case variant of another user's address), 2.4% a second
//   one; 2% with a phone number (msisdn); 5% with SSO links (oidc-github 60%, oidc-keycloak 30%, both
//   10%), 60% of those without a password;
//   visible devices about 2.5 per user: 15% of people have none, 0.05% ("power users", bots logging
//   in again and again) have 50 to 500; 30% of users have 3 hidden cross-signing rows (10% of them 6,
//   after a reset);
//   per visible device of a person: 91% one access token, 2% two, 2% none, 5% a refresh-token session
//   (devices first seen since July 2021 only: 70% one current pair, 20% a superseded predecessor whose
//   successor's access token was used, 10% an unconfirmed rotation where both pairs are still valid);
//   tokens created before Synapse 1.34 (May 2021) are macaroons, later ones syt_ tokens (with a valid
//   CRC-32 checksum on PostgreSQL 18 and later, which has crc32()); 1% of tokens expire;
//   device IPs: 85% IPv4, 8% IPv6, 3% '-', 2% NULL, 2% not one address;
//   a few (users / 50,000, at least 2 each) puppet tokens (admin "login as user", deviceless),
//   deviceless tokens, and tokens whose device row is missing.
// The first 13 users have fixed kinds (admin, locked, guest, deactivated with SSO links, two bridge
// users, a power user, an SSO-only user of both providers, a phone number, a case-variant email, two
// emails, a case-colliding and a capitalised username), so that even a few hundred users show every
// case.
import type pg from 'pg';

export interface GenerateOptions {
  /** Number of rows in `users`. */
  users: number;
  /** Synapse `server_name`: user IDs are @localpart:serverName. */
  serverName: string;
  /** Same seed, same data (up to `now`). Default 1. */
  seed?: number;
  /** The reference time in ms: creation times lie in the 8 years before it. Default Date.now(). */
  now?: number;
  /** Called after each step with its name and duration in ms, for benchmarks. */
  onStep?: (step: string, ms: number) => void;
}

export interface GeneratedCounts {
  users: number;
  user_threepids: number;
  user_external_ids: number;
  devices: number;
  access_tokens: number;
  refresh_tokens: number;
}

export const GENERATED_TABLES = ['users', 'user_threepids', 'user_external_ids', 'devices', 'access_tokens', 'refresh_tokens'] as const;

const FIRST = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'niaj', 'olivia', 'peggy', 'rupert', 'sybil', 'trent', 'victor', 'walter', 'yusuf', 'zoe', 'amira', 'bjorn', 'chen', 'dmitri', 'elena', 'fatima', 'giulia', 'hiro', 'ines', 'jonas', 'kwame', 'lena', 'mateo', 'noor', 'oskar', 'priya', 'quentin', 'rosa', 'sven'];
const LAST = ['smith', 'jones', 'garcia', 'muller', 'rossi', 'dubois', 'kowalski', 'nguyen', 'tanaka', 'silva', 'novak', 'jensen', 'haddad', 'okafor', 'schmidt', 'moreau', 'lopez', 'ivanova', 'kim', 'patel', 'berg', 'costa', 'weber', 'fischer'];
const DOMAINS = ['gmail.com', 'proton.me', 'outlook.com', 'posteo.de', 'yahoo.com', 'example.org', 'mailbox.org', 'fastmail.com', 'uni-example.edu', 'corp.example.com'];
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
/** The kinds of the first users, so that a small data set has every case (more fixed traits below). */
const FIXED_KINDS = ['admin', 'locked', 'guest', 'deactivated', 'appservice', 'appservice', 'normal', 'normal', 'normal', 'normal', 'normal', 'normal', 'normal'];
const IPV6_PREFIXES = ['2a01:cb00', '2001:db8', '2600:1700', '2a02:8108', '2a00:23c5'];

const DAY_MS = 86_400_000;
/** Eight years, in seconds. */
const SPAN_S = Math.round(8 * 365.25 * 86_400);
/** Synapse 1.34 (May 2021) replaced macaroon access tokens with syt_ tokens. */
const SYT_SINCE_MS = Date.UTC(2021, 4, 17);
/** access_tokens.last_validated and used arrived shortly after. */
const LAST_VALIDATED_SINCE_MS = Date.UTC(2021, 6, 13);
/** users.approved (delta 73/03). */
const APPROVED_SINCE_S = Date.UTC(2022, 11, 13) / 1000;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Device ids are key * DEVICE_KEY + d; no user has this many devices. */
const DEVICE_KEY = 4096;

// Letter tables: WINDOWS start positions, each followed by 9 more letters; every 10-letter window is
// distinct. One parameter ($1) holds the mixed-case table, then the upper-case one.
const WINDOWS = 65536;
const TABLE_BYTES = WINDOWS + 9;
const MIXED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const arr = (items: readonly string[]): string => `ARRAY[${items.map(lit).join(', ')}]::text[]`;
/** One element of a literal array, chosen by a non-negative bigint expression. */
const pickFrom = (items: readonly string[], h: string): string => `(${arr(items)})[((${h}) % ${items.length} + 1)::int]`;
const hexBytea = (s: string): string => `'\\x${Buffer.from(s, 'latin1').toString('hex')}'::bytea`;

/** FNV-1a, 32 bits. */
function fnv1a(text: string): number {
  let x = 0x811c9dc5;
  for (let k = 0; k < text.length; k++) {
    x ^= text.charCodeAt(k);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x;
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A table of random letters whose 10-letter windows at 0..WINDOWS-1 are all distinct. */
function letterTable(alphabet: string, seed: number): Buffer {
  for (let attempt = 0; ; attempt++) {
    const next = prng(fnv1a(`${alphabet}/${seed}/${attempt}`));
    const table = Buffer.alloc(TABLE_BYTES);
    for (let k = 0; k < TABLE_BYTES; k++) table[k] = alphabet.charCodeAt(Math.floor(next() * alphabet.length));
    const seen = new Set<string>();
    let distinct = true;
    for (let o = 0; o < WINDOWS && distinct; o++) {
      const w = table.toString('latin1', o, o + 10);
      distinct = !seen.has(w);
      seen.add(w);
    }
    if (distinct) return table;
  }
}

/** SQL builders that depend on the seed. */
function sqlHelpers(seed: number) {
  /** A seed for hashint8extended: 48 bits from the purpose and the generator seed. */
  const saltOf = (salt: string): string => String(fnv1a(`${salt}/${seed}`) * 65536 + (fnv1a(`${seed}\\${salt}`) & 0xffff));
  /** A pseudo-random bigint in [0, 2^32) from a key (an integer expression) and a purpose. */
  const h = (key: string, salt: string): string => `(hashint8extended((${key})::bigint, ${saltOf(salt)}) & 4294967295)`;
  /** A pseudo-random float8 in [0, 1). */
  const u = (key: string, salt: string): string => `(${h(key, salt)}::float8 / 4294967296.0)`;
  /** 32 random bytes. */
  const bytes32 = (key: string, salt: string): string => `sha256(int8send((${key})::bigint) || int8send(${saltOf(salt)}::bigint))`;
  /** 64 random bytes. */
  const bytes64 = (key: string, salt: string): string => `sha512(int8send((${key})::bigint) || int8send(${saltOf(salt)}::bigint))`;
  /** `len` letters from window `offset` (any bigint; reduced mod WINDOWS) of the mixed or upper-case table. */
  const window = (table: 'mixed' | 'upper', offset: string, len: number): string =>
    `substr($1::bytea, (((${offset}) & ${WINDOWS - 1}) + ${table === 'mixed' ? 1 : TABLE_BYTES + 1})::int, ${len})`;
  /**
   * 20 letters from a unique id below 2^32 (a plain column: it is used three times). Two windows
   * chosen by a bijection of the id's halves, so different ids give different letters.
   */
  const letters20 = (id: string, salt: string): string => {
    const s1 = fnv1a(`${salt}/1/${seed}`) & 0xffff;
    const s2 = fnv1a(`${salt}/2/${seed}`) & 0xffff;
    const a = `((${id}) & 65535)`;
    const b = `(((${id}) >> 16) & 65535)`;
    return `convert_from(${window('mixed', `${a} * 40503 + ${s1}`, 10)} || ${window('mixed', `(${b} + ${a} * 7) * 40503 + ${s2}`, 10)}, 'UTF8')`;
  };
  /** Synapse's device id, [A-Z]{10}, distinct for d = 1..WINDOWS of the same user key. */
  const deviceId = (userKey: string, d: string): string => `convert_from(${window('upper', `${h(userKey, 'device-id')} + (${d}) * 40503`, 10)}, 'UTF8')`;
  return { h, u, bytes32, bytes64, window, letters20, deviceId };
}

/** Six base62 digits (0-9A-Za-z) of a non-negative bigint below 62^6, as Synapse writes token checksums. */
function base62(c: string): string {
  let bytes = `'\\x303030303030'::bytea`;
  for (let k = 0; k < 6; k++) bytes = `set_byte(${bytes}, ${k}, get_byte(${hexBytea(BASE62)}, ((${c}) / ${62 ** (5 - k)} % 62)::int))`;
  return `convert_from(${bytes}, 'UTF8')`;
}

interface PausedKeys {
  drop: string[];
  /** [label, sql] */
  restore: Array<[string, string]>;
}

/**
 * The constraints (primary keys, unique, foreign keys, also those pointing at these tables) and
 * indexes of the tables, as SQL that drops them and SQL that recreates them exactly as they were.
 */
async function pauseKeys(client: pg.Client, tables: readonly string[]): Promise<PausedKeys> {
  const constraints = await client.query<{ tbl: string; name: string; contype: string; def: string }>(
    `SELECT c.conrelid::regclass::text AS tbl, quote_ident(c.conname) AS name, c.contype, pg_get_constraintdef(c.oid) AS def
       FROM pg_constraint c
      WHERE (c.conrelid = ANY ($1::regclass[]) AND c.contype IN ('p', 'u', 'f')) OR (c.confrelid = ANY ($1::regclass[]) AND c.contype = 'f')
      ORDER BY c.conrelid::regclass::text, c.conname`,
    [tables],
  );
  const indexes = await client.query<{ name: string; def: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i
      WHERE i.indrelid = ANY ($1::regclass[])
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))
      ORDER BY 1`,
    [tables],
  );
  const fks = constraints.rows.filter((c) => c.contype === 'f');
  const keys = constraints.rows.filter((c) => c.contype !== 'f');
  return {
    drop: [
      ...fks.map((c) => `ALTER TABLE ${c.tbl} DROP CONSTRAINT ${c.name}`),
      ...keys.map((c) => `ALTER TABLE ${c.tbl} DROP CONSTRAINT ${c.name}`),
      ...indexes.rows.map((i) => `DROP INDEX ${i.name}`),
    ],
    restore: [
      ...keys.map((c): [string, string] => [`index ${c.name}`, `ALTER TABLE ${c.tbl} ADD CONSTRAINT ${c.name} ${c.def}`]),
      ...indexes.rows.map((i): [string, string] => [`index ${i.name}`, i.def]),
      ...fks.map((c): [string, string] => [`foreign key ${c.name}`, `ALTER TABLE ${c.tbl} ADD CONSTRAINT ${c.name} ${c.def}`]),
    ],
  };
}

export async function generateSynapseData(client: pg.Client, options: GenerateOptions): Promise<GeneratedCounts> {
  const n = options.users;
  if (!Number.isSafeInteger(n) || n < 1 || n > 100_000_000) throw new Error(`users must be an integer from 1 to 100,000,000, not ${n}`);
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be an integer, not ${seed}`);
  const nowMs = Math.floor(options.now ?? Date.now());
  const nowS = Math.floor(nowMs / 1000);
  const server = lit(options.serverName);
  const { h, u, bytes32, bytes64, window, letters20, deviceId } = sqlHelpers(seed);
  const letters = Buffer.concat([letterTable(MIXED, seed), letterTable(UPPER, seed)]);

  const empty = await client.query<{ rows: string }>(
    `SELECT (SELECT count(*) FROM (SELECT 1 FROM users LIMIT 1) a) + (SELECT count(*) FROM (SELECT 1 FROM devices LIMIT 1) b)
          + (SELECT count(*) FROM (SELECT 1 FROM access_tokens LIMIT 1) c) + (SELECT count(*) FROM (SELECT 1 FROM refresh_tokens LIMIT 1) d) AS rows`,
  );
  if (Number(empty.rows[0]?.rows) !== 0) throw new Error('generateSynapseData needs an empty Synapse schema; users, devices or tokens have rows');
  const version = Number((await client.query<{ server_version_num: string }>('SHOW server_version_num')).rows[0]?.server_version_num);
  /** Synapse's checksum: CRC-32 of everything before it (PostgreSQL 18 has crc32()); a hash on older servers. */
  const checksum = (base: string): string => (version >= 180000 ? `crc32(convert_to(${base}, 'UTF8'))` : `(hashtext(${base})::bigint & 4294967295)`);

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
  /** A time in ms between `fromMs` and now. */
  const between = (fromMs: string, key: string, salt: string): string => `(${fromMs} + floor(${u(key, salt)} * (${nowMs} - ${fromMs}))::bigint)`;
  /** Keeps the planner from inlining a subquery's expressions into every place that uses them. */
  const FENCE = 'OFFSET 0';

  // A step's SQL may depend on what earlier steps did (access token ids continue from the last one).
  const steps: Array<[label: string, sql: () => string, done?: (rows: number) => void]> = [];
  const step = (label: string, sql: string | (() => string), done?: (rows: number) => void): void =>
    void steps.push([label, typeof sql === 'string' ? () => sql : sql, done]);
  let lastTokenId = 0;
  const tokenIds = (rows: number): void => void (lastTokenId += rows);

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

  // ---------------------------------------------------------------------------------------------
  const timed = async (label: string, fn: () => Promise<unknown>): Promise<void> => {
    const started = performance.now();
    try {
      await fn();
    } catch (error) {
      throw new Error(`generateSynapseData: step "${label}" failed: ${(error as Error).message}`, { cause: error });
    }
    options.onStep?.(label, performance.now() - started);
  };
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL work_mem = '256MB'`);
    await client.query(`SET LOCAL maintenance_work_mem = '512MB'`);
    await client.query(`SET LOCAL synchronous_commit = off`);
    // Room for the temporary tables in memory; refused (harmlessly) once the session used one.
    await client.query('SAVEPOINT temp_buffers');
    await client.query(`SET LOCAL temp_buffers = '1GB'`).then(
      () => client.query('RELEASE SAVEPOINT temp_buffers'),
      () => client.query('ROLLBACK TO SAVEPOINT temp_buffers'),
    );
    const keys = await pauseKeys(client, GENERATED_TABLES);
    await timed('drop indexes', async () => {
      for (const sql of keys.drop) await client.query(sql);
    });
    for (const [label, build, done] of steps) {
      const sql = build();
      await timed(label, async () => {
        const result = await client.query(sql, sql.includes('$1::bytea') ? [letters] : []);
        done?.(result.rowCount ?? 0);
      });
    }
    for (const [label, sql] of keys.restore) await timed(label, () => client.query(sql));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  await timed('analyze', () => client.query(`ANALYZE ${GENERATED_TABLES.join(', ')}`));
  const counts = await client.query<Record<string, string>>(`SELECT ${GENERATED_TABLES.map((t) => `(SELECT count(*) FROM ${t}) AS ${t}`).join(', ')}`);
  const row = counts.rows[0] ?? {};
  return Object.fromEntries(GENERATED_TABLES.map((t) => [t, Number(row[t] ?? 0)])) as unknown as GeneratedCounts;
}
