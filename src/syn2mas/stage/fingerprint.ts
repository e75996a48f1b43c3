// One fingerprint per Synapse user over every row the migration reads for that user: the users row
// and the user's rows in user_threepids, user_external_ids, devices, access_tokens and
// refresh_tokens (whole rows, so that any column change shows). What a user's MAS rows are depends
// on these rows only, with one exception carried in explicitly: a refresh pair is superseded when
// all access tokens of its successor were used, so each refresh token's row is hashed together with
// that fact. Two snapshots give a user the same fingerprint exactly when they give the same rows
// (up to a 64-bit hash collision), so a staged migration recomputes only users whose fingerprint
// changed.
//
// Order-independent (a sum of 64-bit hashes and a count), computed in one pass per table inside
// PostgreSQL: no row crosses the network, only one line per user.
//
// Two ways to hash a row, recorded with the stage so that every run of it hashes alike:
// - 'record' (PostgreSQL 14 and later): hash_record_extended over the row's values, no text made;
// - 'text': the row's text form through hashtextextended, on older servers (about twice as slow).

import type pg from 'pg';
import { relayCopy } from '../../db/copy.js';
import { successorUse } from '../synapse-sql.js';

export type FingerprintKind = 'record' | 'text';

export function fingerprintKindFor(serverVersionNum: number): FingerprintKind {
  return serverVersionNum >= 140000 ? 'record' : 'text';
}

/** `COPY`-able query: (user ID, fingerprint), one row per user ID that any of the tables holds. */
export function fingerprintQuery(kind: FingerprintKind): string {
  const h = (alias: string, seed: string): string => (kind === 'record' ? `hash_record_extended(${alias}, ${seed})` : `hashtextextended(${alias}::text, ${seed})`);
  // The successor's state goes into the seed: a different state, a different hash of the same row.
  const successorSeed = `CASE s.all_used WHEN true THEN 61 WHEN false THEN 62 ELSE 63 END`;
  return `
  WITH succ AS (${successorUse()})
  SELECT user_id, count(*)::text || ':' || sum(h)::text AS fingerprint FROM (
    SELECT u.name AS user_id, ${h('u', '1')} AS h FROM users u
    UNION ALL SELECT t.user_id, ${h('t', '2')} FROM user_threepids t
    UNION ALL SELECT e.user_id, ${h('e', '3')} FROM user_external_ids e
    UNION ALL SELECT d.user_id, ${h('d', '4')} FROM devices d
    UNION ALL SELECT a.user_id, ${h('a', '5')} FROM access_tokens a
    UNION ALL SELECT r.user_id, ${h('r', successorSeed)} FROM refresh_tokens r LEFT JOIN succ s ON s.refresh_token_id = r.next_token_id
  ) x
  WHERE user_id IS NOT NULL
  GROUP BY user_id`;
}

/**
 * Relays every Synapse user's fingerprint into `table` (name, fingerprint) of the MAS transaction.
 * Without parallel workers: each worker would aggregate nearly every user, and merging their
 * partial groups (a sort of all of them) cost more than the one hash aggregate (15-20% at 100k).
 */
export async function relayFingerprints(synapse: pg.Client, kind: FingerprintKind, mas: pg.Client, table: string): Promise<void> {
  await synapse.query('SET LOCAL max_parallel_workers_per_gather = 0');
  await relayCopy(synapse, fingerprintQuery(kind), { client: mas, table, columns: ['name', 'fingerprint'] });
}
