// `syn2mas verify`: compares what `syn2mas migrate` should have written (computed again from
// Synapse, by the same classification SQL and row rules) with what the MAS database holds, set-wise,
// and reports every difference as findings. Read-only on both sides; safe while Synapse and MAS run.
//
// Design (decisions are marked "Decision:"):
//
// - One snapshot per side. Synapse is read in one REPEATABLE READ READ ONLY transaction, MAS in
//   another; neither is ever written. Both may be in service: REPEATABLE READ takes only ACCESS SHARE
//   locks and gives every query of a side the same view.
//
// - Expected rows come from reader.ts's phaseQueries, filtered on the 'migrate' reason, so verify
//   expects exactly what the migration policy migrates. Rows are decoded with reader.ts's `decode` and
//   turned into MAS rows with transform.ts's rules (with a stub id factory: ids are random per run and
//   never compared), so a change to a migration rule changes what verify expects with it.
//
// - Natural keys, not ids (MAS ids are keyed hashes, random per run). Users by username; passwords by
//   username; emails by (username, address); other 3PIDs by (username, medium, address); SSO links by
//   (provider uuid, subject); device sessions by (username, device id); deviceless sessions by
//   username (a multiset: a user may have several); non-refreshable access tokens by the token;
//   refresh tokens by the token (with the access token of the pair as a value).
//
// - Set-wise merge join with flat memory. For each entity both sides are streamed with COPY, sorted
//   by the natural key with COLLATE "C" (byte order, which is code point order in UTF-8), and merged
//   here, holding only the current key's rows. No query per user. A stream that is not in the order
//   the comparator expects stops the run (MAS_TOOL_VERIFY_ORDER) rather than report false differences.
//   Decision: the only state kept across entities is the set of users deactivated in MAS after the
//   migration (usually tiny); it explains rows that are missing or extra for those users.
//
// - Decision: what counts as "after the migration". MAS keeps no record of when syn2mas ran, so
//   verify uses a lower bound of it, the horizon: the latest of (a) the newest Synapse
//   access_tokens.last_validated (Synapse stops writing that table once MAS handles logins) and (b)
//   the oldest `_sqlx_migrations.installed_on` in MAS (the MAS schema exists before anything is
//   migrated into it). A MAS row that matches nothing in Synapse and was created after the horizon is
//   new activity (info); one created before it cannot come from MAS use and is an error.
//
// - After MAS has been in use, differences caused by that use are info, not errors: users, sessions,
//   tokens, emails and links created after the horizon; sessions finished in MAS (and their tokens);
//   refresh tokens consumed by a refresh (whose access token MAS then expires); a newer password row
//   than the migrated version 1 (rehash on login, or a change); users locked or deactivated in MAS
//   (locked_at/deactivated_at differ from created_at, which is what migrate writes) and the rows that
//   deactivation removes or leaves behind. Everything else missing, unexpected or different is an
//   error. Decision: differences of matched rows are always errors (a matched row is a migrated row;
//   its creation time says nothing), except for the cases above.
//
// - Findings never carry a token, a password hash or any secret: examples name user IDs, device IDs,
//   email addresses, 3PIDs, SSO subjects and timestamps, at most 20 per finding; the rest are counts.
import type pg from 'pg';
import pgCopy from 'pg-copy-streams';
import { ulidToUUID, uuidToULID } from 'ulid';
import { CopyRowParser, type CopyValue } from '../db/copy.js';
import { connect } from '../db/connection.js';
import { emailsNeedConfirmedAt, inspectMasSchema, MAS_TARGET_TABLES, type MasSchema } from '../db/mas-schema.js';
import { DatabaseError, MasToolError } from '../errors.js';
import { finding, type Finding, type Severity } from '../report/finding.js';
import type { Syn2masContext } from './context.js';
import type { IdFactory } from './ids.js';
import { decode, phaseQueries } from './reader.js';
import { localpart } from './synapse-sql.js';
import {
  extractLocalpart,
  transformAccessToken,
  transformDevice,
  transformExternalId,
  transformRefreshPair,
  transformThreepid,
  transformUser,
} from './transform.js';

export interface VerifyCount {
  /** Rows the migration writes for the current Synapse data. */
  expected: number;
  /** Rows MAS holds (passwords: users with at least one password row). */
  found: number;
  /** Expected rows MAS does not have (explained ones included). */
  missing: number;
  /** MAS rows nothing in Synapse accounts for (new activity included). */
  unexpected: number;
  /** Rows on both sides whose compared values differ (explained ones included). */
  different: number;
}

export interface VerifyReport {
  findings: Finding[];
  /** Raw set comparison per entity; the findings say which differences are errors. */
  counts: Record<string, VerifyCount>;
  /** 0 consistent (info only), 10 at least one error. */
  exitCode: 0 | 10;
}

export interface VerifyOptions {
  /** Synapse IdP id to MAS provider ULID, as CheckReport.providerMapping. */
  providerMapping: ReadonlyMap<string, string>;
}

/** Severity of each code verify can report, in the order findings are listed. */
const CODES = {
  E_VERIFY_NOT_MIGRATED: 'error',
  E_VERIFY_USERS_MISSING: 'error',
  E_VERIFY_USERS_UNEXPECTED: 'error',
  E_VERIFY_USER_FLAGS: 'error',
  E_VERIFY_PASSWORDS: 'error',
  E_VERIFY_EMAILS: 'error',
  E_VERIFY_THREEPIDS: 'error',
  E_VERIFY_LINKS: 'error',
  E_VERIFY_SESSIONS: 'error',
  E_VERIFY_ACCESS_TOKENS: 'error',
  E_VERIFY_REFRESH_TOKENS: 'error',
  I_VERIFY_MAS_IN_USE: 'info',
  I_VERIFY_NEW_USERS: 'info',
  I_VERIFY_USER_STATE_CHANGED: 'info',
  I_VERIFY_DEACTIVATED_LATER: 'info',
  I_VERIFY_PASSWORDS_CHANGED: 'info',
  I_VERIFY_NEW_EMAILS: 'info',
  I_VERIFY_NEW_LINKS: 'info',
  I_VERIFY_LINKS_UNMAPPED: 'info',
  I_VERIFY_NEW_SESSIONS: 'info',
  I_VERIFY_FINISHED_SESSIONS: 'info',
  I_VERIFY_NEW_TOKENS: 'info',
  I_VERIFY_CONSUMED_REFRESH_TOKENS: 'info',
  I_VERIFY_SUMMARY: 'info',
} as const satisfies Record<string, Severity>;
type Code = keyof typeof CODES;

export const VERIFY_CODES: readonly string[] = Object.keys(CODES);

const ENTITIES = ['users', 'passwords', 'emails', 'unsupportedThreepids', 'upstreamLinks', 'sessions', 'accessTokens', 'refreshTokens'] as const;
type Entity = (typeof ENTITIES)[number];
type Kind = 'missing' | 'unexpected' | 'different';

const MAX_EXAMPLES = 20;

// ---- sorted streams and the merge join ----

type Key = ReadonlyArray<CopyValue>;
interface Keyed<T> {
  key: Key;
  value: T;
}

/** Code point order, which is PostgreSQL's "C" collation on UTF-8 text (UTF-16 order is not). */
export function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}
// Surrogates (U+D800-DFFF, i.e. code points above U+FFFF) rank above U+E000-FFFF.
const codePointRank = (c: number): number => (c < 0xd800 ? c : c >= 0xe000 ? c - 0x800 : c + 0x2000);

/** Keys compare field by field, NULL first (as NULLS FIRST sorts them). */
export function compareKeys(a: Key, b: Key): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    const c = compareText(x, y);
    if (c !== 0) return c;
  }
  return 0;
}

/** Wraps a query whose first `keys` columns are named k1..kN so that it comes out in key order. */
function sortedBy(select: string, keys: number): string {
  const order = Array.from({ length: keys }, (_, i) => `v.k${i + 1} COLLATE "C" NULLS FIRST`).join(', ');
  return `SELECT * FROM (${select}) v ORDER BY ${order}`;
}

/**
 * Streams `sql` (already sorted, keys first) with COPY, mapping the fields after the key. `map` may
 * return undefined to drop a row. Checks the order as it goes.
 */
async function* streamSorted<T>(
  client: pg.Client,
  label: string,
  sql: string,
  keys: number,
  map: (fields: CopyValue[], key: Key) => T | undefined,
): AsyncGenerator<Keyed<T>, void, undefined> {
  const copy = client.query(pgCopy.to(`COPY (${sql}) TO STDOUT`));
  const parser = new CopyRowParser();
  copy.on('error', (error: Error) => parser.destroy(error));
  copy.pipe(parser);
  let previous: Key | undefined;
  let finished = false;
  try {
    for await (const batch of parser as AsyncIterable<CopyValue[][]>) {
      for (const row of batch) {
        const key = row.slice(0, keys);
        if (previous !== undefined && compareKeys(previous, key) > 0) {
          throw new MasToolError('MAS_TOOL_VERIFY_ORDER', `The ${label} rows did not come sorted as verify compares them; the comparison was stopped.`, {
            hint: 'This is a bug in mas-tool (or an unusual database collation); please report it.',
          });
        }
        previous = key;
        const value = map(row.slice(keys), key);
        if (value !== undefined) yield { key, value };
      }
    }
    finished = true;
  } finally {
    // Stopped early (an error elsewhere): the connection is closed by the caller anyway.
    if (!finished) parser.destroy();
  }
}

/** Merges two key-sorted streams, calling `onKey` once per key with the rows of each side. */
async function mergeJoin<E, F>(
  expected: AsyncGenerator<Keyed<E>, void, undefined>,
  found: AsyncGenerator<Keyed<F>, void, undefined>,
  onKey: (key: Key, expected: E[], found: F[]) => void,
): Promise<void> {
  try {
    let e = await expected.next();
    let f = await found.next();
    while (!e.done || !f.done) {
      let key: Key;
      if (e.done) key = (f as IteratorYieldResult<Keyed<F>>).value.key;
      else if (f.done) key = e.value.key;
      else key = compareKeys(e.value.key, f.value.key) <= 0 ? e.value.key : f.value.key;
      const es: E[] = [];
      while (!e.done && compareKeys(e.value.key, key) === 0) {
        es.push(e.value.value);
        e = await expected.next();
      }
      const fs: F[] = [];
      while (!f.done && compareKeys(f.value.key, key) === 0) {
        fs.push(f.value.value);
        f = await found.next();
      }
      onKey(key, es, fs);
    }
  } finally {
    await expected.return(undefined).catch(() => undefined);
    await found.return(undefined).catch(() => undefined);
  }
}

// ---- decoding MAS fields ----

const num = (v: CopyValue | undefined): number | null => (v === null || v === undefined ? null : Number(v));
const bool = (v: CopyValue | undefined): boolean => v === 't';
/** Milliseconds since the epoch of a timestamptz column, as text for COPY. */
const ms = (col: string): string => `round(extract(epoch FROM ${col}) * 1000)::bigint`;
const iso = (v: number | null): string => (v === null ? 'never' : new Date(v).toISOString());

/** Ids are random per run and never compared: the transforms get a factory that makes none. */
const NO_IDS: IdFactory = { id: () => '' };

// ---- findings ----

interface Tally {
  count: number;
  entities: Partial<Record<Entity, number>>;
  kinds: Partial<Record<Kind, number>>;
  examples: string[];
}

class Collector {
  readonly tallies = new Map<Code, Tally>();

  add(code: Code, entity: Entity, kind: Kind | undefined, example: string): void {
    let t = this.tallies.get(code);
    if (t === undefined) {
      t = { count: 0, entities: {}, kinds: {}, examples: [] };
      this.tallies.set(code, t);
    }
    t.count++;
    t.entities[entity] = (t.entities[entity] ?? 0) + 1;
    if (kind !== undefined) t.kinds[kind] = (t.kinds[kind] ?? 0) + 1;
    if (t.examples.length < MAX_EXAMPLES) t.examples.push(example);
  }
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
/** The verb for a count: differs/differ. */
const verb = (n: number, one: string, many: string): string => (n === 1 ? one : many);

function breakdown(t: Tally): string {
  const parts = (['missing', 'unexpected', 'different'] as const)
    .filter((k) => (t.kinds[k] ?? 0) > 0)
    .map((k) => `${t.kinds[k]} ${k === 'missing' ? 'missing in MAS' : k === 'unexpected' ? 'in MAS only' : 'different'}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

const REMIGRATE = 'The MAS database does not hold what the migration writes. Find out what changed it; to start over, migrate again into an empty MAS database.';

/** Message and fix of each tallied code. */
function describe(code: Code, t: Tally): { message: string; fix?: string } {
  const n = t.count;
  switch (code) {
    case 'E_VERIFY_USERS_MISSING':
      return { message: `${plural(n, 'Synapse user')} that the migration writes ${n === 1 ? 'is' : 'are'} not in MAS.`, fix: REMIGRATE };
    case 'E_VERIFY_USERS_UNEXPECTED':
      return {
        message: `${plural(n, 'MAS user')} ${n === 1 ? 'does' : 'do'} not come from Synapse and ${n === 1 ? 'was' : 'were'} not created after the migration.`,
        fix: 'Check whether this MAS database was used for something else, or had users before the migration.',
      };
    case 'E_VERIFY_USER_FLAGS':
      return {
        message: `${plural(n, 'user')} ${n === 1 ? 'has' : 'have'} a different admin, guest, locked or deactivated state in MAS than in Synapse.`,
        fix: 'Synapse admins become can_request_admin in MAS; locked and deactivated users keep that state. Correct the MAS users (for example with mas-cli manage) or migrate again.',
      };
    case 'E_VERIFY_PASSWORDS':
      return { message: `${plural(n, 'password')} in MAS ${n === 1 ? 'does' : 'do'} not match the Synapse hash${breakdown(t)}.`, fix: REMIGRATE };
    case 'E_VERIFY_EMAILS':
      return { message: `${plural(n, 'email address', 'email addresses')} ${verb(n, 'differs', 'differ')} between Synapse and MAS${breakdown(t)}.`, fix: REMIGRATE };
    case 'E_VERIFY_THREEPIDS':
      return { message: `${plural(n, 'other third-party ID')} (phone numbers) ${verb(n, 'differs', 'differ')} between Synapse and MAS${breakdown(t)}.`, fix: REMIGRATE };
    case 'E_VERIFY_LINKS':
      return {
        message: `${plural(n, 'SSO link')} ${verb(n, 'differs', 'differ')} between Synapse and MAS${breakdown(t)}.`,
        fix: 'Check the provider mapping (synapse_idp_id in the MAS config, or --upstream-provider-mapping) is the one the migration used.',
      };
    case 'E_VERIFY_SESSIONS':
      return { message: `${plural(n, 'session')} (devices) ${verb(n, 'differs', 'differ')} between Synapse and MAS${breakdown(t)}.`, fix: REMIGRATE };
    case 'E_VERIFY_ACCESS_TOKENS':
      return { message: `${plural(n, 'access token')} ${verb(n, 'differs', 'differ')} between Synapse and MAS${breakdown(t)}.`, fix: REMIGRATE };
    case 'E_VERIFY_REFRESH_TOKENS':
      return { message: `${plural(n, 'refresh token')} ${verb(n, 'differs', 'differ')} between Synapse and MAS${breakdown(t)}.`, fix: REMIGRATE };
    case 'I_VERIFY_NEW_USERS':
      return { message: `${plural(n, 'user')} ${n === 1 ? 'was' : 'were'} created in MAS after the migration.` };
    case 'I_VERIFY_USER_STATE_CHANGED':
      return { message: `${plural(n, 'user')} ${n === 1 ? 'was' : 'were'} locked or deactivated in MAS after the migration.` };
    case 'I_VERIFY_DEACTIVATED_LATER':
      return { message: `${plural(n, 'row')} ${verb(n, 'differs', 'differ')} only because ${n === 1 ? 'its user was' : 'their users were'} deactivated in MAS after the migration${breakdown(t)}.` };
    case 'I_VERIFY_PASSWORDS_CHANGED':
      return { message: `${plural(n, 'user')} ${n === 1 ? 'has' : 'have'} a newer password in MAS than the migrated one (rehashed on login, or changed).` };
    case 'I_VERIFY_NEW_EMAILS':
      return { message: `${plural(n, 'email address', 'email addresses')} ${n === 1 ? 'was' : 'were'} added in MAS after the migration.` };
    case 'I_VERIFY_NEW_LINKS':
      return { message: `${plural(n, 'SSO link')} ${n === 1 ? 'was' : 'were'} made in MAS after the migration.` };
    case 'I_VERIFY_LINKS_UNMAPPED':
      return {
        message: `${plural(n, 'Synapse SSO link')} of identity providers with no MAS provider mapped ${n === 1 ? 'was' : 'were'} not expected in MAS (the migration skips them).`,
      };
    case 'I_VERIFY_NEW_SESSIONS':
      return { message: `${plural(n, 'session')} ${n === 1 ? 'was' : 'were'} started in MAS after the migration.` };
    case 'I_VERIFY_FINISHED_SESSIONS':
      return { message: `${plural(n, 'row')} ${verb(n, 'belongs', 'belong')} to sessions finished in MAS (logged out) since the migration${breakdown(t)}.` };
    case 'I_VERIFY_NEW_TOKENS':
      return { message: `${plural(n, 'token')} ${n === 1 ? 'was' : 'were'} issued by MAS after the migration.` };
    case 'I_VERIFY_CONSUMED_REFRESH_TOKENS':
      return { message: `${plural(n, 'migrated token')} ${n === 1 ? 'was' : 'were'} refreshed in MAS since the migration (refresh token consumed, access token expired).` };
    default:
      return { message: code };
  }
}

// ---- the run ----

interface Horizon {
  ms: number;
  synapseLastValidated: number | null;
  masSchemaInstalled: number | null;
}

interface Comparison {
  synapse: pg.Client;
  mas: pg.Client;
  serverName: string;
  horizon: number;
  now: number;
  collector: Collector;
  counts: Record<Entity, VerifyCount>;
  /** Usernames whose MAS deactivated_at is set but is not what migrate writes (deactivated in MAS). */
  deactivatedLater: Set<string>;
  queries: ReturnType<typeof phaseQueries>;
}

export async function runVerify(ctx: Syn2masContext, options: VerifyOptions): Promise<VerifyReport> {
  const synapse = await connect(ctx.synapseDb);
  let mas: pg.Client | undefined;
  let step = 'opening a read-only snapshot of the Synapse database';
  try {
    mas = await connect(ctx.masDb);
    await synapse.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    step = 'opening a read-only snapshot of the MAS database';
    await mas.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');

    step = 'inspecting the MAS database';
    const schema = await inspectMasSchema(mas);
    const notMigrated = await migrationAbsent(mas, schema);
    if (notMigrated !== undefined) {
      const findings = [
        finding('E_VERIFY_NOT_MIGRATED', 'error', notMigrated, {
          fix: 'Run `mas-tool syn2mas migrate` first, and check that the MAS configuration (-c) points at the database it migrated into.',
        }),
        finding('I_VERIFY_SUMMARY', 'info', 'Nothing was compared: the MAS database holds no migration.', { details: { counts: {} } }),
      ];
      return { findings, counts: {}, exitCode: 10 };
    }

    step = 'reading when the migration happened';
    const horizon = await readHorizon(synapse, mas);
    const c: Comparison = {
      synapse,
      mas,
      serverName: ctx.synapse.serverName,
      horizon: horizon.ms,
      now: Date.now(),
      collector: new Collector(),
      counts: Object.fromEntries(ENTITIES.map((e) => [e, { expected: 0, found: 0, missing: 0, unexpected: 0, different: 0 }])) as Record<Entity, VerifyCount>,
      deactivatedLater: new Set(),
      queries: phaseQueries(ctx.synapse.serverName, (s) => synapse.escapeLiteral(s)),
    };

    // Users first: the other entities use the set of users deactivated in MAS that it builds.
    step = 'comparing users';
    await compareUsers(c);
    step = 'comparing passwords';
    await comparePasswords(c);
    step = 'comparing email addresses';
    await compareEmails(c, emailsNeedConfirmedAt(schema));
    step = 'comparing other third-party IDs';
    await compareThreepids(c);
    step = 'comparing SSO links';
    await compareLinks(c, options.providerMapping);
    step = 'comparing device sessions';
    await compareDeviceSessions(c);
    step = 'comparing deviceless sessions';
    await compareDevicelessSessions(c);
    step = 'comparing access tokens';
    await compareAccessTokens(c);
    step = 'comparing refresh tokens';
    await compareRefreshTokens(c);
    step = 'counting MAS sessions';
    const usage = await masUsage(mas);

    await synapse.query('COMMIT');
    await mas.query('COMMIT');
    return buildReport(c, horizon, usage);
  } catch (error) {
    if (error instanceof MasToolError) throw error;
    throw new DatabaseError(step, error);
  } finally {
    await mas?.end().catch(() => undefined);
    await synapse.end().catch(() => undefined);
  }
}

/** Why there is nothing to verify, or undefined when the MAS database holds a migration. */
async function migrationAbsent(mas: pg.Client, schema: MasSchema): Promise<string | undefined> {
  const absent = MAS_TARGET_TABLES.filter((t) => schema.columns[t] === undefined);
  if (schema.latestMigration === null || absent.length > 0) {
    return `This is not a MAS database with the tables the migration writes${absent.length > 0 ? ` (no ${absent.join(', ')})` : ''}: nothing to verify.`;
  }
  if (schema.leftovers.length > 0) {
    return `An interrupted migration left tables behind in the MAS database (${schema.leftovers.join(', ')}): there is no complete migration to verify.`;
  }
  const { rows } = await mas.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM users) AS any');
  if (rows[0]?.any !== true) return 'The MAS database has no users at all: nothing has been migrated into it, so there is nothing to verify.';
  return undefined;
}

async function readHorizon(synapse: pg.Client, mas: pg.Client): Promise<Horizon> {
  const [s, m] = await Promise.all([
    synapse.query<{ t: string | null }>('SELECT max(last_validated)::text AS t FROM access_tokens'),
    mas.query<{ t: string | null }>(`SELECT ${ms('min(installed_on)')}::text AS t FROM _sqlx_migrations`),
  ]);
  const synapseLastValidated = num(s.rows[0]?.t ?? null);
  const masSchemaInstalled = num(m.rows[0]?.t ?? null);
  const known = [synapseLastValidated, masSchemaInstalled].filter((v): v is number => v !== null);
  // With neither bound, nothing can be shown to be newer than the migration: every extra row is an error.
  return { ms: known.length === 0 ? Number.POSITIVE_INFINITY : Math.max(...known), synapseLastValidated, masSchemaInstalled };
}

async function masUsage(mas: pg.Client): Promise<Record<string, number>> {
  // Sessions the migration never writes: any of them means MAS has been used. A table this MAS
  // version does not have is left out (checked first: a missing table fails the whole query).
  const tables = { oauth2Sessions: 'oauth2_sessions', browserSessions: 'user_sessions', personalSessions: 'personal_sessions' } as const;
  const { rows } = await mas.query<{ t: string }>(`SELECT t FROM unnest($1::text[]) t WHERE to_regclass(t) IS NOT NULL`, [Object.values(tables)]);
  const present = new Set(rows.map((r) => r.t));
  const out: Record<string, number> = {};
  for (const [name, table] of Object.entries(tables)) {
    if (!present.has(table)) continue;
    const counted = await mas.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    out[name] = counted.rows[0]?.n ?? 0;
  }
  return out;
}

// ---- per-entity comparisons ----

const mxid = (c: Comparison, username: string | null): string => (username === null ? '(no user)' : `@${username}:${c.serverName}`);

/** The Synapse side: the phase query's migrated rows, key expressions first (named k1..kN), sorted. */
function synapseSide(query: string, keys: string[], where = ''): string {
  const ks = keys.map((k, i) => `${k} AS k${i + 1}`).join(', ');
  return sortedBy(`SELECT ${ks}, s.* FROM (${query}) s WHERE s.reason = 'migrate'${where === '' ? '' : ` AND ${where}`}`, keys.length);
}

function bump(c: Comparison, entity: Entity, kind: keyof VerifyCount, by = 1): void {
  c.counts[entity][kind] += by;
}

/** Explains an expected row MAS does not have: deactivation in MAS, or an error. */
function missing(c: Comparison, entity: Entity, errorCode: Code, username: string, example: string): void {
  bump(c, entity, 'missing');
  if (c.deactivatedLater.has(username)) c.collector.add('I_VERIFY_DEACTIVATED_LATER', entity, 'missing', example);
  else c.collector.add(errorCode, entity, 'missing', example);
}

/** Explains a MAS row nothing in Synapse accounts for: MAS use since the migration, or an error. */
function unexpected(
  c: Comparison,
  entity: Entity,
  errorCode: Code,
  row: { username: string | null; createdAt: number; finished?: boolean },
  newCode: Code | undefined,
  example: string,
): void {
  bump(c, entity, 'unexpected');
  if (row.finished === true) c.collector.add('I_VERIFY_FINISHED_SESSIONS', entity, 'unexpected', example);
  else if (newCode !== undefined && row.createdAt > c.horizon) c.collector.add(newCode, entity, 'unexpected', example);
  else if (row.username !== null && c.deactivatedLater.has(row.username)) c.collector.add('I_VERIFY_DEACTIVATED_LATER', entity, 'unexpected', example);
  else c.collector.add(errorCode, entity, 'unexpected', example);
}

/** Pairs the rows of one key (several only where the key is not unique), oldest MAS row first. */
function pairUp<E, F extends { createdAt: number }>(es: E[], fs: F[], onPair: (e: E, f: F) => void, onMissing: (e: E) => void, onExtra: (f: F) => void): void {
  const sorted = fs.length > 1 ? [...fs].sort((a, b) => a.createdAt - b.createdAt) : fs;
  const n = Math.min(es.length, sorted.length);
  for (let i = 0; i < n; i++) onPair(es[i] as E, sorted[i] as F);
  for (let i = n; i < es.length; i++) onMissing(es[i] as E);
  for (let i = n; i < sorted.length; i++) onExtra(sorted[i] as F);
}

async function compareUsers(c: Comparison): Promise<void> {
  const expected = streamSorted(c.synapse, 'Synapse users', synapseSide(c.queries.users, [localpart('s.name')]), 1, (r) =>
    transformUser(decode.user(r), c.serverName, NO_IDS).user,
  );
  const found = streamSorted(
    c.mas,
    'MAS users',
    sortedBy(
      `SELECT u.username AS k1, ${ms('u.created_at')}, ${ms('u.locked_at')}, ${ms('u.deactivated_at')}, u.can_request_admin, u.is_guest FROM users u`,
      1,
    ),
    1,
    (r) => ({ createdAt: num(r[0]) ?? 0, lockedAt: num(r[1]), deactivatedAt: num(r[2]), canRequestAdmin: bool(r[3]), isGuest: bool(r[4]) }),
  );
  await mergeJoin(expected, found, (key, es, fs) => {
    const username = key[0] ?? '';
    const who = mxid(c, username);
    bump(c, 'users', 'expected', es.length);
    bump(c, 'users', 'found', fs.length);
    const f = fs[0];
    // Migrate writes locked_at and deactivated_at equal to created_at; any other value was set by MAS.
    const lockedInMas = f !== undefined && f.lockedAt !== null && f.lockedAt !== f.createdAt;
    const deactivatedInMas = f !== undefined && f.deactivatedAt !== null && f.deactivatedAt !== f.createdAt;
    if (deactivatedInMas) c.deactivatedLater.add(username);
    const e = es[0];
    if (e === undefined && f !== undefined) {
      bump(c, 'users', 'unexpected');
      c.collector.add(f.createdAt > c.horizon ? 'I_VERIFY_NEW_USERS' : 'E_VERIFY_USERS_UNEXPECTED', 'users', 'unexpected', who);
      return;
    }
    if (e === undefined) return;
    if (f === undefined) {
      bump(c, 'users', 'missing');
      c.collector.add('E_VERIFY_USERS_MISSING', 'users', 'missing', who);
      return;
    }
    const errors: string[] = [];
    const changed: string[] = [];
    if (e.canRequestAdmin !== f.canRequestAdmin) errors.push(`can_request_admin is ${f.canRequestAdmin} in MAS, Synapse admin is ${e.canRequestAdmin}`);
    if (e.isGuest !== f.isGuest) errors.push(`is_guest is ${f.isGuest} in MAS, ${e.isGuest} in Synapse`);
    if ((e.lockedAt !== null) !== (f.lockedAt !== null)) {
      const text = f.lockedAt === null ? 'not locked in MAS, locked in Synapse' : `locked in MAS (since ${iso(f.lockedAt)}), not in Synapse`;
      (lockedInMas ? changed : errors).push(text);
    }
    if ((e.deactivatedAt !== null) !== (f.deactivatedAt !== null)) {
      const text = f.deactivatedAt === null ? 'active in MAS, deactivated in Synapse' : `deactivated in MAS (since ${iso(f.deactivatedAt)}), not in Synapse`;
      (deactivatedInMas ? changed : errors).push(text);
    }
    if (errors.length > 0 || changed.length > 0) bump(c, 'users', 'different');
    if (errors.length > 0) c.collector.add('E_VERIFY_USER_FLAGS', 'users', 'different', `${who}: ${[...errors, ...changed].join('; ')}`);
    else if (changed.length > 0) c.collector.add('I_VERIFY_USER_STATE_CHANGED', 'users', 'different', `${who}: ${changed.join('; ')}`);
  });
}

async function comparePasswords(c: Comparison): Promise<void> {
  const expected = streamSorted(c.synapse, 'Synapse passwords', synapseSide(c.queries.users, [localpart('s.name')], 's.password_hash IS NOT NULL'), 1, (r) =>
    transformUser(decode.user(r), c.serverName, NO_IDS).password,
  );
  const found = streamSorted(
    c.mas,
    'MAS passwords',
    sortedBy(
      `SELECT u.username AS k1, p.hashed_password, p.version, ${ms('p.created_at')} FROM user_passwords p JOIN users u ON u.user_id = p.user_id`,
      1,
    ),
    1,
    (r) => ({ hash: r[0] ?? '', version: num(r[1]) ?? 0, createdAt: num(r[2]) ?? 0 }),
  );
  await mergeJoin(expected, found, (key, es, fs) => {
    const username = key[0] ?? '';
    const who = mxid(c, username);
    const e = es[0];
    bump(c, 'passwords', 'expected', es.length);
    if (fs.length > 0) bump(c, 'passwords', 'found');
    const newest = fs.reduce<(typeof fs)[number] | undefined>((a, b) => (a === undefined || b.createdAt > a.createdAt ? b : a), undefined);
    if (e === undefined) {
      if (newest === undefined) return;
      // A password MAS has and Synapse does not: set in MAS later, or kept after Synapse cleared the
      // hash on a deactivation done in MAS.
      unexpected(c, 'passwords', 'E_VERIFY_PASSWORDS', { username, createdAt: newest.createdAt }, 'I_VERIFY_PASSWORDS_CHANGED', `${who}: a password in MAS, none in Synapse`);
      return;
    }
    // MAS keeps every password row; the migrated one is version 1 with the Synapse hash, verbatim.
    const migrated = fs.find((p) => p.version === e.version && p.hash === e.hashedPassword);
    if (migrated !== undefined) {
      if (newest !== undefined && newest !== migrated && newest.createdAt > migrated.createdAt) {
        c.collector.add('I_VERIFY_PASSWORDS_CHANGED', 'passwords', undefined, `${who}: newest password is version ${newest.version}, from ${iso(newest.createdAt)}`);
      }
      return;
    }
    if (fs.some((p) => p.version === e.version)) {
      bump(c, 'passwords', 'different');
      if (c.deactivatedLater.has(username)) c.collector.add('I_VERIFY_DEACTIVATED_LATER', 'passwords', 'different', `${who}: version ${e.version} password differs`);
      else c.collector.add('E_VERIFY_PASSWORDS', 'passwords', 'different', `${who}: the version ${e.version} password in MAS is not the Synapse hash`);
      return;
    }
    missing(c, 'passwords', 'E_VERIFY_PASSWORDS', username, `${who}: no version ${e.version} password in MAS${fs.length > 0 ? ` (${plural(fs.length, 'other password row')})` : ''}`);
  });
}

async function compareEmails(c: Comparison, confirmedAt: boolean): Promise<void> {
  const expected = streamSorted(
    c.synapse,
    'Synapse emails',
    synapseSide(c.queries.threepids, [localpart('s.user_id'), 's.address'], `s.medium = 'email'`),
    2,
    (r) => {
      const t = transformThreepid(decode.threepid(r), NO_IDS);
      return t.kind === 'email' ? t.email : undefined;
    },
  );
  const found = streamSorted(
    c.mas,
    'MAS emails',
    sortedBy(
      `SELECT u.username AS k1, e.email AS k2, ${ms('e.created_at')}, ${confirmedAt ? 'e.confirmed_at IS NOT NULL' : 'true'}
         FROM user_emails e JOIN users u ON u.user_id = e.user_id`,
      2,
    ),
    2,
    (r) => ({ createdAt: num(r[0]) ?? 0, confirmed: bool(r[1]) }),
  );
  await mergeJoin(expected, found, (key, es, fs) => {
    const username = key[0] ?? '';
    const example = `${mxid(c, username)} <${key[1] ?? ''}>`;
    bump(c, 'emails', 'expected', es.length);
    bump(c, 'emails', 'found', fs.length);
    pairUp(
      es,
      fs,
      (_e, f) => {
        // Before MAS v1.10 only confirmed addresses count; migrate confirms every imported one.
        if (!f.confirmed) {
          bump(c, 'emails', 'different');
          c.collector.add('E_VERIFY_EMAILS', 'emails', 'different', `${example}: not confirmed in MAS`);
        }
      },
      () => missing(c, 'emails', 'E_VERIFY_EMAILS', username, example),
      (f) => unexpected(c, 'emails', 'E_VERIFY_EMAILS', { username, createdAt: f.createdAt }, 'I_VERIFY_NEW_EMAILS', example),
    );
  });
}

async function compareThreepids(c: Comparison): Promise<void> {
  const expected = streamSorted(
    c.synapse,
    'Synapse third-party IDs',
    synapseSide(c.queries.threepids, [localpart('s.user_id'), 's.medium', 's.address'], `s.medium IS DISTINCT FROM 'email'`),
    3,
    (r) => {
      const t = transformThreepid(decode.threepid(r), NO_IDS);
      return t.kind === 'unsupported' ? t.threepid : undefined;
    },
  );
  const found = streamSorted(
    c.mas,
    'MAS third-party IDs',
    sortedBy(
      `SELECT u.username AS k1, t.medium AS k2, t.address AS k3, ${ms('t.created_at')}
         FROM user_unsupported_third_party_ids t JOIN users u ON u.user_id = t.user_id`,
      3,
    ),
    3,
    (r) => ({ createdAt: num(r[0]) ?? 0 }),
  );
  await mergeJoin(expected, found, (key, es, fs) => {
    const username = key[0] ?? '';
    const example = `${mxid(c, username)} ${key[1] ?? ''} ${key[2] ?? ''}`;
    bump(c, 'unsupportedThreepids', 'expected', es.length);
    bump(c, 'unsupportedThreepids', 'found', fs.length);
    pairUp(
      es,
      fs,
      () => undefined,
      () => missing(c, 'unsupportedThreepids', 'E_VERIFY_THREEPIDS', username, example),
      // MAS never adds these, so a new one is not explained by MAS use.
      (f) => unexpected(c, 'unsupportedThreepids', 'E_VERIFY_THREEPIDS', { username, createdAt: f.createdAt }, undefined, example),
    );
  });
}

async function compareLinks(c: Comparison, mapping: ReadonlyMap<string, string>): Promise<void> {
  // The provider uuid is the key's first part; Synapse only knows its IdP id, so the mapping is
  // inlined as a CASE (NULL for an unmapped IdP: those links are not migrated).
  const uuids = new Map([...mapping].map(([idp, ulid]) => [idp, ulidToUUID(ulid).toLowerCase()]));
  const idpOf = new Map([...uuids].map(([idp, uuid]) => [uuid, idp]));
  const provider =
    uuids.size === 0
      ? 'NULL::text'
      : `CASE s.auth_provider ${[...uuids].map(([idp, uuid]) => `WHEN ${c.synapse.escapeLiteral(idp)} THEN ${c.synapse.escapeLiteral(uuid)}`).join(' ')} ELSE NULL::text END`;
  const expected = streamSorted(c.synapse, 'Synapse SSO links', synapseSide(c.queries.externalIds, [provider, 's.external_id']), 2, (r, key) => {
    const row = decode.externalId(r);
    const providerUuid = key[0];
    if (providerUuid === null || providerUuid === undefined) {
      c.collector.add('I_VERIFY_LINKS_UNMAPPED', 'upstreamLinks', undefined, `${row.userId} at ${row.authProvider}`);
      return undefined;
    }
    return { username: extractLocalpart(row.userId, c.serverName), link: transformExternalId(row, providerUuid, NO_IDS) };
  });
  const found = streamSorted(
    c.mas,
    'MAS SSO links',
    sortedBy(
      `SELECT l.upstream_oauth_provider_id::text AS k1, l.subject AS k2, u.username, ${ms('l.created_at')}
         FROM upstream_oauth_links l LEFT JOIN users u ON u.user_id = l.user_id`,
      2,
    ),
    2,
    (r) => ({ username: r[0] ?? null, createdAt: num(r[1]) ?? 0 }),
  );
  const where = (key: Key): string => {
    const uuid = key[0] ?? '';
    return `subject ${key[1] ?? ''} at ${idpOf.get(uuid) ?? `provider ${uuidToULID(uuid)}`}`;
  };
  await mergeJoin(expected, found, (key, es, fs) => {
    bump(c, 'upstreamLinks', 'expected', es.length);
    bump(c, 'upstreamLinks', 'found', fs.length);
    pairUp(
      es,
      fs,
      (e, f) => {
        if (f.username !== e.username) {
          bump(c, 'upstreamLinks', 'different');
          c.collector.add('E_VERIFY_LINKS', 'upstreamLinks', 'different', `${where(key)}: linked to ${mxid(c, f.username)} in MAS, ${mxid(c, e.username)} in Synapse`);
        }
      },
      (e) => missing(c, 'upstreamLinks', 'E_VERIFY_LINKS', e.username, `${mxid(c, e.username)} ${where(key)}`),
      (f) => unexpected(c, 'upstreamLinks', 'E_VERIFY_LINKS', { username: f.username, createdAt: f.createdAt }, 'I_VERIFY_NEW_LINKS', `${mxid(c, f.username)} ${where(key)}`),
    );
  });
}

interface MasSession {
  admin: boolean;
  createdAt: number;
  finishedAt: number | null;
}

const masSession = (r: CopyValue[]): MasSession => ({ admin: bool(r[0]), createdAt: num(r[1]) ?? 0, finishedAt: num(r[2]) });

function compareSessionRows(c: Comparison, username: string, example: string, es: Array<{ isSynapseAdmin: boolean }>, fs: MasSession[]): void {
  bump(c, 'sessions', 'expected', es.length);
  bump(c, 'sessions', 'found', fs.length);
  pairUp(
    es,
    fs,
    (e, f) => {
      if (e.isSynapseAdmin !== f.admin) {
        bump(c, 'sessions', 'different');
        c.collector.add('E_VERIFY_SESSIONS', 'sessions', 'different', `${example}: is_synapse_admin is ${f.admin} in MAS, should be ${e.isSynapseAdmin}`);
      }
      if (f.finishedAt !== null) c.collector.add('I_VERIFY_FINISHED_SESSIONS', 'sessions', undefined, `${example}: finished ${iso(f.finishedAt)}`);
    },
    () => missing(c, 'sessions', 'E_VERIFY_SESSIONS', username, example),
    (f) => unexpected(c, 'sessions', 'E_VERIFY_SESSIONS', { username, createdAt: f.createdAt, finished: f.finishedAt !== null }, 'I_VERIFY_NEW_SESSIONS', example),
  );
}

async function compareDeviceSessions(c: Comparison): Promise<void> {
  const expected = streamSorted(c.synapse, 'Synapse devices', synapseSide(c.queries.devices, [localpart('s.user_id'), 's.device_id']), 2, (r) =>
    transformDevice(decode.device(r), NO_IDS, c.now).session,
  );
  const found = streamSorted(
    c.mas,
    'MAS device sessions',
    sortedBy(
      `SELECT u.username AS k1, s.device_id AS k2, s.is_synapse_admin, ${ms('s.created_at')}, ${ms('s.finished_at')}
         FROM compat_sessions s JOIN users u ON u.user_id = s.user_id WHERE s.device_id IS NOT NULL`,
      2,
    ),
    2,
    masSession,
  );
  await mergeJoin(expected, found, (key, es, fs) => {
    const username = key[0] ?? '';
    compareSessionRows(c, username, `${mxid(c, username)} device ${key[1] ?? ''}`, es, fs);
  });
}

async function compareDevicelessSessions(c: Comparison): Promise<void> {
  // One deviceless session per migrated deviceless token; compared as a count per user (their
  // tokens are compared with the access tokens).
  const expected = streamSorted(c.synapse, 'Synapse deviceless tokens', synapseSide(c.queries.accessTokens, [localpart('s.user_id')], 's.device_id IS NULL'), 1, (r) =>
    transformAccessToken(decode.accessToken(r), NO_IDS, c.now).session,
  );
  const found = streamSorted(
    c.mas,
    'MAS deviceless sessions',
    sortedBy(
      `SELECT u.username AS k1, s.is_synapse_admin, ${ms('s.created_at')}, ${ms('s.finished_at')}
         FROM compat_sessions s JOIN users u ON u.user_id = s.user_id WHERE s.device_id IS NULL`,
      1,
    ),
    1,
    masSession,
  );
  await mergeJoin(expected, found, (key, es, fs) => {
    const username = key[0] ?? '';
    compareSessionRows(c, username, `${mxid(c, username)} (a session without a device)`, es, fs);
  });
}

/** "an access token of @u device D": how tokens are named in findings (never the token itself). */
const tokenName = (c: Comparison, what: string, username: string | null, deviceId: string | null): string =>
  deviceId === null ? `a deviceless ${what} of ${mxid(c, username)}` : `${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what} of ${mxid(c, username)} device ${deviceId}`;

async function compareAccessTokens(c: Comparison): Promise<void> {
  // Non-refreshable tokens only: the access token of a refresh pair is compared with its refresh
  // token (compareRefreshTokens), as migrate counts them.
  const expected = streamSorted(c.synapse, 'Synapse access tokens', synapseSide(c.queries.accessTokens, ['s.token']), 1, (r) => {
    const row = decode.accessToken(r);
    return { username: extractLocalpart(row.userId, c.serverName), deviceId: row.deviceId, token: transformAccessToken(row, NO_IDS, c.now).token };
  });
  const found = streamSorted(
    c.mas,
    'MAS access tokens',
    sortedBy(
      `SELECT t.access_token AS k1, u.username, s.device_id, ${ms('t.expires_at')}, ${ms('t.created_at')}, ${ms('s.finished_at')}
         FROM compat_access_tokens t
         JOIN compat_sessions s ON s.compat_session_id = t.compat_session_id
         JOIN users u ON u.user_id = s.user_id
        WHERE NOT EXISTS (SELECT 1 FROM compat_refresh_tokens r WHERE r.compat_access_token_id = t.compat_access_token_id)`,
      1,
    ),
    1,
    (r) => ({ username: r[0] ?? null, deviceId: r[1] ?? null, expiresAt: num(r[2]), createdAt: num(r[3]) ?? 0, finishedAt: num(r[4]) }),
  );
  await mergeJoin(expected, found, (_key, es, fs) => {
    bump(c, 'accessTokens', 'expected', es.length);
    bump(c, 'accessTokens', 'found', fs.length);
    pairUp(
      es,
      fs,
      (e, f) => {
        const name = tokenName(c, 'access token', e.username, e.deviceId);
        const diffs: string[] = [];
        if (f.username !== e.username || f.deviceId !== e.deviceId) diffs.push(`belongs to ${tokenName(c, 'session', f.username, f.deviceId).replace(/^an? /, 'the ')} in MAS`);
        if (f.expiresAt !== e.token.expiresAt) diffs.push(`expires ${iso(f.expiresAt)} in MAS, ${iso(e.token.expiresAt)} in Synapse`);
        if (diffs.length > 0) {
          bump(c, 'accessTokens', 'different');
          c.collector.add('E_VERIFY_ACCESS_TOKENS', 'accessTokens', 'different', `${name}: ${diffs.join('; ')}`);
        }
      },
      (e) => missing(c, 'accessTokens', 'E_VERIFY_ACCESS_TOKENS', e.username, tokenName(c, 'access token', e.username, e.deviceId)),
      (f) =>
        unexpected(
          c,
          'accessTokens',
          'E_VERIFY_ACCESS_TOKENS',
          { username: f.username, createdAt: f.createdAt, finished: f.finishedAt !== null },
          'I_VERIFY_NEW_TOKENS',
          tokenName(c, 'access token', f.username, f.deviceId),
        ),
    );
  });
}

async function compareRefreshTokens(c: Comparison): Promise<void> {
  const expected = streamSorted(c.synapse, 'Synapse refresh tokens', synapseSide(c.queries.refreshPairs, ['s.rt_token']), 1, (r) => {
    const row = decode.refreshPair(r);
    return { username: extractLocalpart(row.userId, c.serverName), deviceId: row.deviceId, ...transformRefreshPair(row, NO_IDS, c.now) };
  });
  const found = streamSorted(
    c.mas,
    'MAS refresh tokens',
    sortedBy(
      `SELECT r.refresh_token AS k1, a.access_token, u.username, s.device_id, ${ms('a.expires_at')}, ${ms('r.created_at')}, ${ms('r.consumed_at')}, ${ms('s.finished_at')}
         FROM compat_refresh_tokens r
         JOIN compat_access_tokens a ON a.compat_access_token_id = r.compat_access_token_id
         JOIN compat_sessions s ON s.compat_session_id = r.compat_session_id
         JOIN users u ON u.user_id = s.user_id`,
      1,
    ),
    1,
    (r) => ({
      accessToken: r[0] ?? '',
      username: r[1] ?? null,
      deviceId: r[2] ?? null,
      expiresAt: num(r[3]),
      createdAt: num(r[4]) ?? 0,
      consumedAt: num(r[5]),
      finishedAt: num(r[6]),
    }),
  );
  await mergeJoin(expected, found, (_key, es, fs) => {
    bump(c, 'refreshTokens', 'expected', es.length);
    bump(c, 'refreshTokens', 'found', fs.length);
    pairUp(
      es,
      fs,
      (e, f) => {
        const name = tokenName(c, 'refresh token', e.username, e.deviceId);
        const errors: string[] = [];
        if (f.username !== e.username || f.deviceId !== e.deviceId) errors.push(`belongs to ${tokenName(c, 'session', f.username, f.deviceId).replace(/^an? /, 'the ')} in MAS`);
        if (f.accessToken !== e.accessToken.accessToken) errors.push('is paired with another access token in MAS');
        // A refresh in MAS consumes the refresh token and expires its access token at that moment.
        const expiryChanged = f.expiresAt !== e.accessToken.expiresAt;
        if (expiryChanged && f.consumedAt === null) errors.push(`its access token expires ${iso(f.expiresAt)} in MAS, ${iso(e.accessToken.expiresAt)} in Synapse`);
        if (errors.length > 0 || expiryChanged) bump(c, 'refreshTokens', 'different');
        if (errors.length > 0) c.collector.add('E_VERIFY_REFRESH_TOKENS', 'refreshTokens', 'different', `${name}: ${errors.join('; ')}`);
        else if (f.consumedAt !== null) c.collector.add('I_VERIFY_CONSUMED_REFRESH_TOKENS', 'refreshTokens', undefined, `${name}: used ${iso(f.consumedAt)}`);
        if (errors.length === 0 && f.finishedAt !== null) c.collector.add('I_VERIFY_FINISHED_SESSIONS', 'refreshTokens', undefined, `${name}: session finished ${iso(f.finishedAt)}`);
      },
      (e) => missing(c, 'refreshTokens', 'E_VERIFY_REFRESH_TOKENS', e.username, tokenName(c, 'refresh token', e.username, e.deviceId)),
      (f) =>
        unexpected(
          c,
          'refreshTokens',
          'E_VERIFY_REFRESH_TOKENS',
          // A consumed refresh token that Synapse never had was issued and used in MAS.
          { username: f.username, createdAt: f.createdAt, finished: f.finishedAt !== null },
          'I_VERIFY_NEW_TOKENS',
          tokenName(c, 'refresh token', f.username, f.deviceId),
        ),
    );
  });
}

// ---- the report ----

const NEW_ACTIVITY: readonly Code[] = [
  'I_VERIFY_NEW_USERS',
  'I_VERIFY_USER_STATE_CHANGED',
  'I_VERIFY_DEACTIVATED_LATER',
  'I_VERIFY_PASSWORDS_CHANGED',
  'I_VERIFY_NEW_EMAILS',
  'I_VERIFY_NEW_LINKS',
  'I_VERIFY_NEW_SESSIONS',
  'I_VERIFY_FINISHED_SESSIONS',
  'I_VERIFY_NEW_TOKENS',
  'I_VERIFY_CONSUMED_REFRESH_TOKENS',
];

function buildReport(c: Comparison, horizon: Horizon, usage: Record<string, number>): VerifyReport {
  const findings: Finding[] = [];
  const horizonIso = Number.isFinite(horizon.ms) ? new Date(horizon.ms).toISOString() : null;
  for (const code of Object.keys(CODES) as Code[]) {
    const t = c.collector.tallies.get(code);
    if (t === undefined) continue;
    const { message, fix } = describe(code, t);
    const details: Record<string, unknown> = { count: t.count, entities: t.entities, ...t.kinds, examples: t.examples };
    findings.push(finding(code, CODES[code], message, fix === undefined ? { details } : { fix, details }));
  }
  const activity = NEW_ACTIVITY.filter((code) => c.collector.tallies.has(code));
  const sessionsInMas = Object.values(usage).reduce((a, b) => a + b, 0);
  if (activity.length > 0 || sessionsInMas > 0) {
    const at = findings.findIndex((f) => f.severity === 'info');
    findings.splice(
      at === -1 ? findings.length : at,
      0,
      finding(
        'I_VERIFY_MAS_IN_USE',
        'info',
        `MAS has been in use since the migration${horizonIso === null ? '' : ` (after ${horizonIso})`}: the differences that use explains are listed as info, not errors.`,
        { details: { ...usage, explainedBy: activity, horizon: horizonIso } },
      ),
    );
  }
  const errors = findings.filter((f) => f.severity === 'error');
  const counts = c.counts as Record<string, VerifyCount>;
  const u = c.counts.users;
  findings.push(
    finding(
      'I_VERIFY_SUMMARY',
      'info',
      `Compared ${plural(u.expected, 'Synapse user')} with ${plural(u.found, 'MAS user')}, and their passwords, emails, other third-party IDs, SSO links, ` +
        `sessions and tokens: ${errors.length === 0 ? 'MAS holds what the migration writes' : `${plural(errors.length, 'kind')} of error found`}.`,
      {
        details: {
          counts,
          horizon: horizonIso,
          horizonSources: {
            synapseLastTokenUse: horizon.synapseLastValidated === null ? null : new Date(horizon.synapseLastValidated).toISOString(),
            masSchemaInstalled: horizon.masSchemaInstalled === null ? null : new Date(horizon.masSchemaInstalled).toISOString(),
          },
        },
      },
    ),
  );
  return { findings, counts, exitCode: errors.length > 0 ? 10 : 0 };
}
