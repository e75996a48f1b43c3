// The read-only snapshot that check and verify read a database in: one REPEATABLE READ, READ ONLY
// transaction, so that every query sees the same moment and only ACCESS SHARE locks are taken (a
// running Synapse or MAS never waits on it), with the planner settings for whole-table reads.
import { BULK_WORK_MEM, useBulkPlans } from './bulk-plans.js';
import type { Queryable } from './queryable.js';

export async function beginReadSnapshot(client: Queryable): Promise<void> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  await useBulkPlans(client);
  // The reads sort and hash whole tables (verify sorts every token by value): with the default
  // 4 MB they spill to disk from a few hundred thousand users on. This transaction only.
  await client.query(`SET LOCAL work_mem = '${BULK_WORK_MEM}'`);
}
