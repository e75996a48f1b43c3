// Synapse's unfinished background updates: the schema may not yet have what the migration reads.
import { finding } from '../../../report/finding.js';
import { MAX_EXAMPLES, plural, type DataCheck } from './context.js';

export const backgroundUpdatesPending: DataCheck = {
  code: 'W_BACKGROUND_UPDATES_PENDING',
  async run({ db, schema }) {
    if (!schema.present.has('background_updates')) return undefined;
    const { rows } = await db.query<{ n: number; names: string[] | null }>(
      `SELECT (SELECT count(*)::int FROM background_updates) AS n,
              (SELECT array_agg(update_name ORDER BY ordering, update_name)
                 FROM (SELECT update_name, ordering FROM background_updates ORDER BY ordering, update_name LIMIT ${MAX_EXAMPLES}) b) AS names`,
    );
    const bg = rows[0];
    if (bg === undefined || bg.n === 0) return undefined;
    return finding(
      'W_BACKGROUND_UPDATES_PENDING',
      'warning',
      `Synapse has ${plural(bg.n, 'unfinished background update')}; the database may lack indexes or data fixes the migration relies on.`,
      {
        fix:
          'Let Synapse run until they are done (the background_updates table is empty), or run them offline: ' +
          'update_synapse_database --database-config homeserver.yaml --run-background-updates',
        details: { count: bg.n, updates: bg.names ?? [] },
      },
    );
  },
};
