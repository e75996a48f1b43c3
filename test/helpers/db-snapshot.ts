// A comparable picture of a whole database: tables and columns, constraints and indexes with their
// definitions, and a digest of every table's contents. Two equal snapshots mean nothing changed.
import type pg from 'pg';

export interface DatabaseSnapshot {
  tables: string[];
  columns: string[];
  constraints: string[];
  indexes: string[];
  contents: Record<string, string>;
}

export async function snapshotDatabase(client: pg.Client): Promise<DatabaseSnapshot> {
  const q = async (sql: string): Promise<string[]> => (await client.query<{ v: string }>(sql)).rows.map((r) => r.v);
  const tables = await q(`SELECT table_name::text AS v FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`);
  const contents: Record<string, string> = {};
  for (const t of tables) {
    const { rows } = await client.query<{ n: string; digest: string | null }>(
      `SELECT count(*)::text AS n, md5(string_agg(r::text, '|' ORDER BY r::text)) AS digest FROM "${t}" r`,
    );
    contents[t] = `${rows[0]?.n}:${rows[0]?.digest ?? ''}`;
  }
  return {
    tables,
    columns: await q(
      `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS v
         FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1`,
    ),
    constraints: await q(
      `SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS v
         FROM pg_constraint WHERE connamespace = current_schema()::regnamespace ORDER BY 1`,
    ),
    indexes: await q(`SELECT indexdef AS v FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1`),
    contents,
  };
}
