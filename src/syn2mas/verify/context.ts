// The state one verify run shares across entities (the Comparison), MAS field decoding, and the helpers that count and explain differences.
import type pg from 'pg';
import type { CopyValue } from '../../db/copy.js';
import type { IdFactory } from '../ids.js';
import type { phaseQueries } from '../reader.js';
import type { Code, Collector, Entity } from './findings.js';
import { sortedBy } from './merge.js';
import type { VerifyCount } from './types.js';

export interface Comparison {
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

// ---- decoding MAS fields ----

export const num = (v: CopyValue | undefined): number | null => (v === null || v === undefined ? null : Number(v));
export const bool = (v: CopyValue | undefined): boolean => v === 't';
/** Milliseconds since the epoch of a timestamptz column, as text for COPY. */
export const ms = (col: string): string => `round(extract(epoch FROM ${col}) * 1000)::bigint`;
export const iso = (v: number | null): string => (v === null ? 'never' : new Date(v).toISOString());

/** Ids are random per run and never compared: the transforms get a factory that makes none. */
export const NO_IDS: IdFactory = { id: () => '' };

export const mxid = (c: Comparison, username: string | null): string => (username === null ? '(no user)' : `@${username}:${c.serverName}`);

/** The Synapse side: the phase query's migrated rows, key expressions first (named k1..kN), sorted. */
export function synapseSide(query: string, keys: string[], where = '', columns = 's.*'): string {
  const ks = keys.map((k, i) => `${k} AS k${i + 1}`).join(', ');
  return sortedBy(`SELECT ${ks}, ${columns} FROM (${query}) s WHERE s.reason = 'migrate'${where === '' ? '' : ` AND ${where}`}`, keys.length);
}

export function bump(c: Comparison, entity: Entity, kind: keyof VerifyCount, by = 1): void {
  c.counts[entity][kind] += by;
}

/** Explains an expected row MAS does not have: deactivation in MAS, or an error. */
export function missing(c: Comparison, entity: Entity, errorCode: Code, username: string, example: string): void {
  bump(c, entity, 'missing');
  if (c.deactivatedLater.has(username)) c.collector.add('I_VERIFY_DEACTIVATED_LATER', entity, 'missing', example);
  else c.collector.add(errorCode, entity, 'missing', example);
}

/** Explains a MAS row nothing in Synapse accounts for: MAS use since the migration, or an error. */
export function unexpected(
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
