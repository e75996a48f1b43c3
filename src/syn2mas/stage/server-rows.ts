// The rows of a staged migration that belong to no user: registration tokens. No per-user
// fingerprint says when one changed (a token used, extended, added or deleted in Synapse), and the
// table is small (tokens are handed out by hand), so every refresh and the cut-over read all of
// them again, with the migration's own phase, into a scratch table, and apply the difference to the
// staged table by primary key: insert what is new, update what differs, delete what is gone. The
// id of a token is its token under the stage's key and time, so an unchanged token keeps its row.
import type { MasTargetTable } from '../../db/mas-schema.js';
import { loadPhases, type LoadOptions } from '../phases.js';

/** Rows a refresh or the cut-over inserted, updated and deleted in one MAS table (the delta's report). */
export interface TableDelta {
  inserted: number;
  updated: number;
  deleted: number;
}

/** The load's options (its phases: those with `serverWide`; with `countOnly` they are only counted), and the delta's report per table, added to. */
export interface ServerRowsOptions extends Omit<LoadOptions, 'tableFor' | 'totals'> {
  tables: Partial<Record<MasTargetTable, TableDelta>>;
}

/** The primary key of each server-wide table. */
const KEYS: Partial<Record<MasTargetTable, string>> = { user_registration_tokens: 'user_registration_token_id' };

const scratch = (table: string): string => `pg_temp.mas_tool_all_${table}`;

export async function applyServerRows(o: ServerRowsOptions): Promise<void> {
  const written = o.phases.filter((p) => p.countOnly === undefined).map((p) => o.encoders[p.encoder]);
  for (const target of written) {
    await o.mas.query(`CREATE TEMP TABLE mas_tool_all_${target.table} ON COMMIT DROP AS SELECT ${target.columns.join(', ')} FROM ${target.table} WITH NO DATA`);
  }
  const { tables: _report, ...load } = o;
  await loadPhases({ ...load, tableFor: scratch });
  o.progress.stage = 'finish';
  o.progress.phase = 'applying the changes of the server-wide rows';
  for (const target of written) {
    const table = target.table as MasTargetTable;
    const key = KEYS[table];
    if (key === undefined) throw new Error(`internal error: no primary key known for ${table}`);
    const values = target.columns.filter((c) => c !== key);
    const count = async (sql: string): Promise<number> => (await o.mas.query(sql)).rowCount ?? 0;
    // Deletes first: a token deleted and made again has the same id, so no unique value moves.
    const deleted = await count(`DELETE FROM ${table} x WHERE NOT EXISTS (SELECT 1 FROM ${scratch(table)} n WHERE n.${key} = x.${key})`);
    const inserted = await count(
      `INSERT INTO ${table} (${target.columns.join(', ')}) SELECT ${target.columns.map((c) => `n.${c}`).join(', ')} FROM ${scratch(table)} n
        WHERE NOT EXISTS (SELECT 1 FROM ${table} x WHERE x.${key} = n.${key})`,
    );
    const updated = await count(
      `UPDATE ${table} x SET (${values.join(', ')}) = ROW(${values.map((c) => `n.${c}`).join(', ')}) FROM ${scratch(table)} n
        WHERE x.${key} = n.${key} AND ROW(${values.map((c) => `x.${c}`).join(', ')}) IS DISTINCT FROM ROW(${values.map((c) => `n.${c}`).join(', ')})`,
    );
    const report = (o.tables[table] ??= { inserted: 0, updated: 0, deleted: 0 });
    report.inserted += inserted;
    report.updated += updated;
    report.deleted += deleted;
  }
}
