// The one way mas-tool opens a read-only snapshot of a database: a READ ONLY transaction, so that
// every query sees the same moment and nothing can be written, with the planner settings for
// whole-table reads. Check, verify, the stage and its refreshes, the migration's reads, manage's
// list of Synapse admins and the COPY-only benchmark floor all open theirs here.
//
// Two isolation levels, for two situations:
//   - REPEATABLE READ (the default) takes only ACCESS SHARE locks: a running Synapse or MAS never
//     waits on it (those locks only conflict with schema changes, which Synapse makes at start);
//   - SERIALIZABLE READ ONLY DEFERRABLE (the migration itself, after mas-cli) waits, if it must, for
//     a snapshot no concurrent serializable transaction can invalidate; the caller's `lock` then
//     takes the table locks before anything is read.
import { DatabaseError, MasToolError } from '../errors.js';
import { BULK_WORK_MEM, useBulkPlans } from './bulk-plans.js';
import type { Queryable } from './queryable.js';

export interface ReadSnapshotOptions {
  /** SERIALIZABLE READ ONLY DEFERRABLE instead of REPEATABLE READ READ ONLY. */
  serializable?: boolean;
  /** Runs right after BEGIN, before any read: the migration locks the tables it reads here. */
  lock?: (client: Queryable) => Promise<void>;
  /**
   * Planner settings and work_mem for whole-table sorts and hashes (default true): with the default
   * 4 MB, verify's token sort and the migration's joins spill to disk from a few hundred thousand
   * users on (the migration's token phase ran 2.5 times slower at a million users). False for a
   * snapshot that reads a handful of rows.
   */
  bulk?: boolean;
  /**
   * What opening it is called in an error ("opening a snapshot of the Synapse database"). Given, a
   * failure rolls back and becomes a DatabaseError (a MasToolError, such as the lock's, passes as
   * it is); not given, the caller handles the raw error and the rollback.
   */
  failure?: string;
}

export async function beginReadSnapshot(client: Queryable, options: ReadSnapshotOptions = {}): Promise<void> {
  try {
    await client.query(options.serializable === true ? 'BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE' : 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    if (options.lock !== undefined) await options.lock(client);
    if (options.bulk !== false) {
      // SET LOCAL: it ends with the transaction, so nothing leaks into a pooled session.
      await client.query(`SET LOCAL work_mem = '${BULK_WORK_MEM}'`);
      await useBulkPlans(client);
    }
  } catch (cause) {
    if (options.failure === undefined) throw cause;
    await client.query('ROLLBACK').catch(() => undefined);
    if (cause instanceof MasToolError) throw cause;
    throw new DatabaseError(options.failure, cause);
  }
}
