// Pre-flight checks of the Synapse data, and the migration plan: how many rows of each kind the
// migration will write to MAS and how many it will skip, and why.
//
// Everything here is read-only SELECTs; the caller runs them inside one READ ONLY snapshot
// transaction. The queries are set-based: one aggregate query per table (synapse-data/counts.ts),
// plus small example queries (LIMIT 20) that only run when a finding has something to show, one
// check per file of synapse-data/ by what it is about (owners, users, threepids, devices, ...).
// Examples hold user IDs, device IDs, media, provider names, email addresses and device IPs; never
// a token or a password hash.
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
import type { Finding } from '../../report/finding.js';
import { backgroundUpdatesPending } from './synapse-data/background-updates.js';
import type { DataCheck } from './synapse-data/context.js';
import { countCutoverFacts, countSynapseRows } from './synapse-data/counts.js';
import { invalidDeviceIps, tokensOnHiddenDevices } from './synapse-data/devices.js';
import { appserviceUsers, foreignUserIds, orphanRows } from './synapse-data/owners.js';
import { emptyFacts, type SynapseFacts } from './synapse-data/plan.js';
import { checkSynapseSchema } from './synapse-data/schema.js';
import { duplicateEmails, nonEmailThreepids } from './synapse-data/threepids.js';
import { caseDuplicateEmails, invalidEmails, mixedCaseEmails } from './emails.js';
import { caseCollidingUsernames, guestsInDatabase, nonstandardLocalparts, usersWithoutCreationTs } from './synapse-data/users.js';

export { foreignKind } from './synapse-data/owners.js';
export { PLAN_SKIP_REASONS, type EntityPlan, type SynapseFacts } from './synapse-data/plan.js';
export { MIN_SYNAPSE_SCHEMA } from './synapse-data/schema.js';

export const SYNAPSE_DATA_CHECK_CODES = [
  'E_SYNAPSE_SCHEMA_MISSING',
  'E_SYNAPSE_SCHEMA_TOO_OLD',
  'E_FOREIGN_USER_IDS',
  'E_USERS_WITHOUT_CREATION_TS',
  'E_INVALID_EMAILS',
  'W_ORPHAN_ROWS',
  'W_APPSERVICE_USERS',
  'W_GUESTS_IN_DATABASE',
  'W_NON_EMAIL_THREEPIDS',
  'W_DUPLICATE_EMAILS',
  'W_CASE_DUPLICATE_EMAILS',
  'W_CASE_COLLIDING_USERNAMES',
  'W_NONSTANDARD_LOCALPARTS',
  'W_TOKENS_ON_HIDDEN_DEVICES',
  'W_INVALID_DEVICE_IPS',
  'W_BACKGROUND_UPDATES_PENDING',
  'I_MIXED_CASE_EMAILS',
] as const;

/** The checks after the counts, in the order their findings are reported. */
const DATA_CHECKS: readonly DataCheck[] = [
  foreignUserIds,
  usersWithoutCreationTs,
  orphanRows,
  appserviceUsers,
  guestsInDatabase,
  nonEmailThreepids,
  invalidEmails,
  duplicateEmails,
  caseDuplicateEmails,
  mixedCaseEmails,
  caseCollidingUsernames,
  nonstandardLocalparts,
  tokensOnHiddenDevices,
  invalidDeviceIps,
  backgroundUpdatesPending,
];

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

  const { schema, stop } = await checkSynapseSchema(db);
  if (stop !== undefined) return { findings: [stop], facts: emptyFacts(schema.schemaVersion), timings: db.timings };

  const facts = emptyFacts(schema.schemaVersion);
  if (opts.scope === 'cutover') {
    db.step('cut-over facts');
    await countCutoverFacts(db, params, facts);
    return { findings: [], facts, timings: db.timings };
  }

  const counts = await countSynapseRows(db, params, schema.serverVersion, facts);
  const ctx = { db, params, serverName: opts.serverName, schema, plan: facts.plan, counts };
  const findings: Finding[] = [];
  for (const check of DATA_CHECKS) {
    db.step(check.code);
    const found = await check.run(ctx);
    if (found !== undefined) findings.push(found);
  }
  return { findings, facts, timings: db.timings };
}
