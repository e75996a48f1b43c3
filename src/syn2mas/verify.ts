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
//   refresh tokens by the token (with the access token of the pair as a value); registration tokens
//   by the token (verify/registration-tokens.ts: they belong to no user).
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
//
// The work is split by concern under ./verify/: merge.ts (sorted streams, merge join), findings.ts
// (codes, collector), messages.ts and report.ts (the report), context.ts (shared state and helpers),
// state.ts (migration presence, horizon, MAS use) and one module per entity group.
import type pg from 'pg';
import { connect } from '../db/connection.js';
import { emailsNeedConfirmedAt, inspectMasSchema } from '../db/mas-schema.js';
import { beginReadSnapshot } from '../db/snapshot.js';
import { timed, type StepTiming } from '../db/timed.js';
import { DatabaseError, MasToolError } from '../errors.js';
import { finding } from '../report/finding.js';
import type { Syn2masContext } from './context.js';
import { phaseQueries } from './reader.js';
import type { Comparison } from './verify/context.js';
import { Collector, ENTITIES, type Entity } from './verify/findings.js';
import { compareLinks } from './verify/links.js';
import { buildReport } from './verify/report.js';
import { compareDeviceSessions, compareDevicelessSessions } from './verify/sessions.js';
import { compareRegistrationTokens } from './verify/registration-tokens.js';
import { masUsage, migrationAbsent, readHorizon } from './verify/state.js';
import { compareEmails, compareThreepids } from './verify/threepids.js';
import { compareAccessTokens, compareRefreshTokens } from './verify/tokens.js';
import type { VerifyCount, VerifyOptions, VerifyReport } from './verify/types.js';
import { compareUsers, comparePasswords } from './verify/users.js';

export { VERIFY_CODES } from './verify/findings.js';
export { compareKeys, compareText } from './verify/merge.js';
export type { VerifyCount, VerifyOptions, VerifyReport } from './verify/types.js';

export async function runVerify(ctx: Syn2masContext, options: VerifyOptions): Promise<VerifyReport> {
  const synapse = await connect(ctx.synapseDb);
  let mas: pg.Client | undefined;
  let step = 'opening a read-only snapshot of the Synapse database';
  try {
    const masDb = await connect(ctx.masDb);
    mas = masDb;
    await beginReadSnapshot(synapse);
    step = 'opening a read-only snapshot of the MAS database';
    await beginReadSnapshot(masDb);
    const timings: StepTiming[] = [];
    const run = async <T>(what: string, name: string, fn: () => Promise<T>): Promise<T> => {
      step = what;
      return timed(timings, name, fn);
    };

    const schema = await run('inspecting the MAS database', 'inspect MAS', () => inspectMasSchema(masDb));
    const notMigrated = await migrationAbsent(mas, schema);
    if (notMigrated !== undefined) {
      const findings = [
        finding('E_VERIFY_NOT_MIGRATED', 'error', notMigrated, {
          fix: 'Run `mas-tool syn2mas migrate` first, and check that the MAS configuration (-c) points at the database it migrated into.',
        }),
        finding('I_VERIFY_SUMMARY', 'info', 'Nothing was compared: the MAS database holds no migration.', { details: { counts: {} } }),
      ];
      return { findings, counts: {}, exitCode: 10, timings };
    }

    const horizon = await run('reading when the migration happened', 'horizon', () => readHorizon(synapse, masDb));
    const c: Comparison = {
      synapse,
      mas: masDb,
      serverName: ctx.synapse.serverName,
      horizon: horizon.ms,
      now: Date.now(),
      collector: new Collector(),
      counts: Object.fromEntries(ENTITIES.map((e) => [e, { expected: 0, found: 0, missing: 0, unexpected: 0, different: 0 }])) as Record<Entity, VerifyCount>,
      deactivatedLater: new Set(),
      queries: phaseQueries(ctx.synapse.serverName, (s) => synapse.escapeLiteral(s)),
    };

    // Users first: the other entities use the set of users deactivated in MAS that it builds.
    await run('comparing users', 'users', () => compareUsers(c));
    await run('comparing passwords', 'passwords', () => comparePasswords(c));
    await run('comparing email addresses', 'emails', () => compareEmails(c, emailsNeedConfirmedAt(schema)));
    await run('comparing other third-party IDs', 'other third-party IDs', () => compareThreepids(c));
    await run('comparing SSO links', 'upstream links', () => compareLinks(c, options.providerMapping));
    await run('comparing device sessions', 'device sessions', () => compareDeviceSessions(c));
    await run('comparing deviceless sessions', 'deviceless sessions', () => compareDevicelessSessions(c));
    await run('comparing access tokens', 'access tokens', () => compareAccessTokens(c));
    await run('comparing refresh tokens', 'refresh tokens', () => compareRefreshTokens(c));
    // A MAS schema before 0.17 has no table: the migration did not carry them (check warned).
    if (schema.columns.user_registration_tokens !== undefined) await run('comparing registration tokens', 'registration tokens', () => compareRegistrationTokens(c));
    const usage = await run('counting MAS sessions', 'MAS sessions', () => masUsage(masDb));

    await synapse.query('COMMIT');
    await masDb.query('COMMIT');
    return { ...buildReport(c, horizon, usage), timings };
  } catch (error) {
    if (error instanceof MasToolError) throw error;
    throw new DatabaseError(step, error);
  } finally {
    await mas?.end().catch(() => undefined);
    await synapse.end().catch(() => undefined);
  }
}
