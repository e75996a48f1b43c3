// The Synapse snapshot a stage (and a refresh of it) reads in while Synapse keeps serving: one
// REPEATABLE READ, READ ONLY transaction and no explicit lock, so Synapse's writes never wait on it.
// (The implicit ACCESS SHARE locks only conflict with schema changes, which Synapse makes at start.)
import type pg from 'pg';
import { beginReadSnapshot } from '../../db/snapshot.js';
import { DatabaseError } from '../../errors.js';
import { READ_WORK_MEM } from '../reader.js';

export async function openStageSnapshot(client: pg.Client): Promise<void> {
  try {
    await beginReadSnapshot(client);
    await client.query(`SET LOCAL work_mem = '${READ_WORK_MEM}'`);
  } catch (cause) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new DatabaseError('opening a read-only snapshot of the Synapse database', cause);
  }
}
