// The keys and indexes of the generated tables, dropped for the load and rebuilt as they were.
import type pg from 'pg';

export interface PausedKeys {
  drop: string[];
  /** [label, sql] */
  restore: Array<[string, string]>;
}

/**
 * The constraints (primary keys, unique, foreign keys, also those pointing at these tables) and
 * indexes of the tables, as SQL that drops them and SQL that recreates them exactly as they were.
 */
export async function pauseKeys(client: pg.Client, tables: readonly string[]): Promise<PausedKeys> {
  const constraints = await client.query<{ tbl: string; name: string; contype: string; def: string }>(
    `SELECT c.conrelid::regclass::text AS tbl, quote_ident(c.conname) AS name, c.contype, pg_get_constraintdef(c.oid) AS def
       FROM pg_constraint c
      WHERE (c.conrelid = ANY ($1::regclass[]) AND c.contype IN ('p', 'u', 'f')) OR (c.confrelid = ANY ($1::regclass[]) AND c.contype = 'f')
      ORDER BY c.conrelid::regclass::text, c.conname`,
    [tables],
  );
  const indexes = await client.query<{ name: string; def: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i
      WHERE i.indrelid = ANY ($1::regclass[])
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))
      ORDER BY 1`,
    [tables],
  );
  const fks = constraints.rows.filter((c) => c.contype === 'f');
  const keys = constraints.rows.filter((c) => c.contype !== 'f');
  return {
    drop: [
      ...fks.map((c) => `ALTER TABLE ${c.tbl} DROP CONSTRAINT ${c.name}`),
      ...keys.map((c) => `ALTER TABLE ${c.tbl} DROP CONSTRAINT ${c.name}`),
      ...indexes.rows.map((i) => `DROP INDEX ${i.name}`),
    ],
    restore: [
      ...keys.map((c): [string, string] => [`index ${c.name}`, `ALTER TABLE ${c.tbl} ADD CONSTRAINT ${c.name} ${c.def}`]),
      ...indexes.rows.map((i): [string, string] => [`index ${i.name}`, i.def]),
      ...fks.map((c): [string, string] => [`foreign key ${c.name}`, `ALTER TABLE ${c.tbl} ADD CONSTRAINT ${c.name} ${c.def}`]),
    ],
  };
}
