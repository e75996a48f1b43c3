// The one connection the database backend writes through: every statement says what it was for (so
// that a PostgreSQL error reads "Failed while locking users in the MAS database: ..."), and
// transactions nest. A command runs its reads and writes inside one transaction, and each write
// method also opens one of its own so that it is atomic when called alone; inside an open
// transaction, a nested call is a savepoint of it, so a failed write undoes only its own part and
// leaves the caller's transaction usable (PostgreSQL refuses every statement after an error).
import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import { DatabaseError, MasToolError } from '../../errors.js';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export class MasSql {
  readonly #client: pg.Client;
  readonly #where: string;
  // Set inside a transaction's work, so that a nested call can tell it is nested; a concurrent
  // call from outside (another async flow) waits for the open transaction instead.
  readonly #inTransaction = new AsyncLocalStorage<true>();
  #queue: Promise<void> = Promise.resolve();
  #savepoints = 0;

  /** `where` names the database in messages: "the MAS database", or a described target. */
  constructor(client: pg.Client, where = 'the MAS database') {
    this.#client = client;
    this.#where = where;
  }

  async query<R extends object = Record<string, unknown>>(action: string, text: string, values?: unknown[]): Promise<QueryResult<R>> {
    try {
      const result = await this.#client.query<R & pg.QueryResultRow>(text, values);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    } catch (cause) {
      throw new DatabaseError(`${action} in ${this.#where}`, cause);
    }
  }

  async transaction<T>(work: () => Promise<T>): Promise<T> {
    if (this.#inTransaction.getStore() === true) return this.#savepoint(work);
    const previous = this.#queue;
    let release = (): void => undefined;
    this.#queue = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      await this.query('starting a transaction', 'BEGIN');
      let result: T;
      try {
        result = await this.#inTransaction.run(true, work);
      } catch (error) {
        await this.#client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      await this.query('committing the changes', 'COMMIT');
      return result;
    } finally {
      release();
    }
  }

  async #savepoint<T>(work: () => Promise<T>): Promise<T> {
    const name = `mas_tool_${++this.#savepoints}`;
    await this.query('opening a savepoint', `SAVEPOINT ${name}`);
    let result: T;
    try {
      result = await work();
    } catch (error) {
      await this.#client.query(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
      await this.#client.query(`RELEASE SAVEPOINT ${name}`).catch(() => undefined);
      throw error;
    }
    await this.query('releasing a savepoint', `RELEASE SAVEPOINT ${name}`);
    return result;
  }
}

/** The ids asked for that a statement did not find, as a MAS_TOOL_USER_NOT_FOUND error. */
export function userNotFound(missing: readonly string[]): MasToolError {
  const list = missing.join(', ');
  return new MasToolError('MAS_TOOL_USER_NOT_FOUND', `No MAS user has the id${missing.length === 1 ? '' : 's'} ${list}.`, {
    hint: 'The user may have been removed meanwhile; look the user up again by name.',
    details: { userIds: missing },
  });
}
