// Planner settings for the transactions that read or aggregate whole tables (the migration's reads
// and its summary, verify's two snapshots, the check's counts).
//
// Why: every such query touches most rows of its tables, so the right join is a hash or merge join,
// linear or n log n. A nested loop is only right when one side is tiny, and the planner believes that
// from its statistics, which are missing or stale exactly where it matters (tables loaded inside the
// migration's own transaction, a Synapse database restored from a dump and never analyzed). A wrong
// guess there made one summary query quadratic: minutes at 200k users, hours at 1M. Turning nested
// loops off for these transactions makes that class of plan impossible whatever the statistics say;
// the queries are also written without correlated subqueries, which this setting would not cover
// (test/db/bulk-plans.test.ts checks the plans of every query these commands send).
import type { Queryable } from './queryable.js';

/** `SET LOCAL` statements: they end with the transaction, so nothing leaks into a pooled session. */
export const BULK_PLAN_SETTINGS = ['SET LOCAL enable_nestloop = off'] as const;

/** Memory per sort or hash for those transactions (the migration's reads use the same). */
export const BULK_WORK_MEM = '256MB';

/** Applies BULK_PLAN_SETTINGS inside the caller's open transaction. */
export async function useBulkPlans(client: Queryable): Promise<void> {
  for (const statement of BULK_PLAN_SETTINGS) await client.query(statement);
}
