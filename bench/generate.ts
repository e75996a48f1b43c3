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
//   deviceless tokens, and tokens whose device row is missing;
//   registration tokens (users / 5,000, at least 6), every kind in turn: expired, used up, unlimited,
//   one use pending, no expiry, expiring later.
// The first 13 users have fixed kinds (admin, locked, guest, deactivated with SSO links, two bridge
// users, a power user, an SSO-only user of both providers, a phone number, a case-variant email, two
// emails, a case-colliding and a capitalised username), so that even a few hundred users show every
// case.
import type pg from 'pg';
import type { GenContext, GenerationStep } from './generate/context.js';
import { addDeviceSteps } from './generate/devices.js';
import { pauseKeys } from './generate/paused-keys.js';
import { letterTables, lit, sqlHelpers } from './generate/random-sql.js';
import { addRegistrationTokenSteps } from './generate/registration-tokens.js';
import { addTokenSteps } from './generate/tokens.js';
import { addUserSteps } from './generate/users.js';

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
  registration_tokens: number;
}

export const GENERATED_TABLES = ['users', 'user_threepids', 'user_external_ids', 'devices', 'access_tokens', 'refresh_tokens', 'registration_tokens'] as const;

export async function generateSynapseData(client: pg.Client, options: GenerateOptions): Promise<GeneratedCounts> {
  const n = options.users;
  if (!Number.isSafeInteger(n) || n < 1 || n > 100_000_000) throw new Error(`users must be an integer from 1 to 100,000,000, not ${n}`);
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be an integer, not ${seed}`);
  const nowMs = Math.floor(options.now ?? Date.now());
  const letters = letterTables(seed);

  const empty = await client.query<{ rows: string }>(
    `SELECT (SELECT count(*) FROM (SELECT 1 FROM users LIMIT 1) a) + (SELECT count(*) FROM (SELECT 1 FROM devices LIMIT 1) b)
          + (SELECT count(*) FROM (SELECT 1 FROM access_tokens LIMIT 1) c) + (SELECT count(*) FROM (SELECT 1 FROM refresh_tokens LIMIT 1) d) AS rows`,
  );
  if (Number(empty.rows[0]?.rows) !== 0) throw new Error('generateSynapseData needs an empty Synapse schema; users, devices or tokens have rows');
  const version = Number((await client.query<{ server_version_num: string }>('SHOW server_version_num')).rows[0]?.server_version_num);
  const checksum = (base: string): string => (version >= 180000 ? `crc32(convert_to(${base}, 'UTF8'))` : `(hashtext(${base})::bigint & 4294967295)`);

  const steps: GenerationStep[] = [];
  const ctx: GenContext = {
    ...sqlHelpers(seed),
    n,
    nowMs,
    nowS: Math.floor(nowMs / 1000),
    server: lit(options.serverName),
    checksum,
    between: (fromMs, key, salt) => `(${fromMs} + floor(${ctx.u(key, salt)} * (${nowMs} - ${fromMs}))::bigint)`,
    step: (label, sql, done) => void steps.push([label, typeof sql === 'string' ? () => sql : sql, done]),
  };
  addUserSteps(ctx);
  addDeviceSteps(ctx);
  addTokenSteps(ctx);
  addRegistrationTokenSteps(ctx);

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
