// Pausing the constraints and indexes of tables for a bulk load, and putting them back. Everything
// happens inside the caller's transaction, so a failure or a killed process rolls the pause back
// with the data: the schema is never left without them.
import type { Queryable } from './queryable.js';

export interface PausedObject {
  kind: 'foreign key' | 'constraint' | 'index';
  /** The table the object is defined on (for an incoming foreign key, the referencing table). */
  table: string;
  name: string;
  /** `pg_get_constraintdef` for constraints, `pg_get_indexdef` for indexes. */
  definition: string;
}

const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/**
 * Drops the primary keys, unique constraints and foreign keys of `tables`, the foreign keys of other
 * tables that point at them, then every remaining index of `tables`; returns what was dropped, in
 * the order to restore it. CHECK and NOT NULL constraints stay: they cost little per row.
 */
export async function pauseConstraints(db: Queryable, tables: readonly string[]): Promise<PausedObject[]> {
  const { rows: constraints } = await db.query<{ tbl: string; name: string; def: string; contype: string }>(
    `SELECT c.conrelid::regclass::text AS tbl, c.conname AS name, pg_get_constraintdef(c.oid) AS def, c.contype::text AS contype
       FROM pg_constraint c
      WHERE c.connamespace = current_schema()::regnamespace
        AND ((c.contype IN ('p', 'u', 'f') AND c.conrelid::regclass::text = ANY($1))
          OR (c.contype = 'f' AND c.confrelid::regclass::text = ANY($1)))
      ORDER BY (c.contype = 'f') DESC, c.conname`,
    [tables],
  );
  // Foreign keys first: they depend on the unique indexes behind primary keys.
  for (const c of constraints) await db.query(`ALTER TABLE ${c.tbl} DROP CONSTRAINT ${quoteIdent(c.name)}`);
  const { rows: indexes } = await db.query<{ tbl: string; name: string; def: string }>(
    `SELECT tablename AS tbl, indexname AS name, indexdef AS def FROM pg_indexes
      WHERE schemaname = current_schema() AND tablename = ANY($1) ORDER BY indexname`,
    [tables],
  );
  for (const i of indexes) await db.query(`DROP INDEX ${quoteIdent(i.name)}`);
  // Restore order: indexes, then primary and unique keys, then foreign keys (which need them).
  return [
    ...indexes.map((i): PausedObject => ({ kind: 'index', table: i.tbl, name: i.name, definition: i.def })),
    ...constraints.filter((c) => c.contype !== 'f').map((c): PausedObject => ({ kind: 'constraint', table: c.tbl, name: c.name, definition: c.def })),
    ...constraints.filter((c) => c.contype === 'f').map((c): PausedObject => ({ kind: 'foreign key', table: c.tbl, name: c.name, definition: c.def })),
  ];
}

/** Recreates one paused object; for a foreign key this validates every row. */
export async function restoreObject(db: Queryable, o: PausedObject): Promise<void> {
  if (o.kind === 'index') await db.query(o.definition);
  else await db.query(`ALTER TABLE ${o.table} ADD CONSTRAINT ${quoteIdent(o.name)} ${o.definition}`);
}
