// Whether PostgreSQL can end a run of mas-tool that was killed. A caught stop (Ctrl-C, SIGTERM,
// SIGHUP) cancels and rolls back from our side; a kill -9, a crashed host or a cut network leaves
// the backend running its last statement, with the migration's transaction and locks, until that
// statement ends or the server notices the client is gone. connect() asks every session for
// client_connection_check_interval, which makes it notice within seconds; servers before
// PostgreSQL 14 (or on a platform without the check) cannot, and the operator should know how to
// end such a backend by hand.
import type { Queryable } from '../../db/queryable.js';
import { finding, type Finding } from '../../report/finding.js';

export const CONNECTION_CHECK_CODES = ['I_NO_CONNECTION_CHECK'] as const;

/** What a session of ours got: the server's version, and its client_connection_check_interval (null: no such setting). */
export interface SessionGuard {
  /** "MAS" or "Synapse". */
  label: string;
  /** server_version, e.g. "13.16" or "16.4 (Debian 16.4-1.pgdg120+1)". */
  serverVersion: string;
  checkInterval: string | null;
}

/** Read inside the session that connect() set up. */
export async function readSessionGuard(db: Queryable, label: string): Promise<SessionGuard> {
  const { rows } = await db.query<{ version: string; interval: string | null }>(
    `SELECT current_setting('server_version') AS version, current_setting('client_connection_check_interval', true) AS interval`,
  );
  return { label, serverVersion: rows[0]?.version ?? 'unknown', checkInterval: rows[0]?.interval ?? null };
}

/** Both sides' application names, as connection.ts sets them (unless PGAPPNAME says otherwise). */
const FIND_AND_END = `SELECT pid, datname, application_name, state, now() - xact_start AS open_for, pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'mas-tool%' AND pid <> pg_backend_pid();`;

/** One finding per database whose server does not end the statements of a client that is gone. */
export function connectionCheckFindings(guards: readonly SessionGuard[]): Finding[] {
  const unguarded = guards.filter((g) => g.checkInterval === null || g.checkInterval === '0');
  return unguarded.map((g) => {
    const why = g.checkInterval === null ? 'it has no client_connection_check_interval (PostgreSQL 14 and later)' : 'it cannot check client connections on its platform';
    return finding(
      'I_NO_CONNECTION_CHECK',
      'info',
      `The ${g.label} database's server (PostgreSQL ${g.serverVersion}) does not notice a client that is gone during a statement: ${why}. ` +
        'If mas-tool is killed without a chance to roll back (kill -9, a crashed host, a cut connection), its last statement keeps running, ' +
        'holding the transaction and its locks until it ends.',
      {
        fix: `Stop mas-tool with Ctrl-C or SIGTERM (it cancels and rolls back). After a kill, end what is left with: ${FIND_AND_END}`,
        details: { database: g.label, serverVersion: g.serverVersion, clientConnectionCheckInterval: g.checkInterval, sql: FIND_AND_END },
      },
    );
  });
}
