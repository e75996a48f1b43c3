// The part of a PostgreSQL client that core code uses. pg.Client and pg.PoolClient satisfy it, so
// core functions take a Queryable and tests pass real connections: no module mocks.
export interface QueryResultLike<R> {
  rows: R[];
  rowCount?: number | null;
}

export interface Queryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResultLike<R>>;
}
