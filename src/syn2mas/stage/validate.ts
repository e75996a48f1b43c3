// Whether a stage can be continued (refreshed or cut over) from this Synapse, with this MAS database
// and provider mapping: the check reports the problems as findings, and the delta refuses to run on
// any error among them. Reading is separate (readStageState) so that the rules stay pure.
import type { Queryable } from '../../db/queryable.js';
import { finding, type Finding } from '../../report/finding.js';
import { countTables, mappingConflicts, readStage, sameIdentity, STAGE_FORMAT, type StageRecord, type SynapseIdentity } from './record.js';

export const STAGE_CHECK_CODES = [
  'I_STAGE_PRESENT',
  'W_STAGE_STALE',
  'E_STAGE_FORMAT',
  'E_STAGE_OTHER_SYNAPSE',
  'E_STAGE_PROVIDER_MAPPING',
  'E_STAGE_MAS_SCHEMA',
  'E_STAGE_MAS_IN_USE',
] as const;

/** A stage older than this is worth refreshing before the cut-over: the cut-over applies what changed since. */
export const STALE_AFTER_MS = 24 * 3600 * 1000;

/** MAS tables that MAS itself writes once it serves (and the column that dates a row). */
const ACTIVITY_TABLES: ReadonlyArray<[string, string]> = [
  ['user_sessions', 'created_at'],
  ['oauth2_sessions', 'created_at'],
  ['compat_sso_logins', 'created_at'],
  ['queue_workers', 'registered_at'],
];

export interface StageState {
  record: StageRecord;
  /** Rows per MAS table now; undefined when not counted (the cut-over's check leaves it to the cut-over). */
  tableCounts?: Record<string, number>;
  /** Rows MAS wrote after the stage was first made, per table. */
  activity: Record<string, number>;
}

export async function readStageState(mas: Queryable, options: { countRows?: boolean } = {}): Promise<StageState | undefined> {
  const record = await readStage(mas);
  if (record === undefined) return undefined;
  const tableCounts = options.countRows === false ? undefined : await countTables(mas);
  const activity: Record<string, number> = {};
  const { rows: present } = await mas.query<{ table_name: string; column_name: string }>(
    `SELECT table_name::text, column_name::text FROM information_schema.columns
      WHERE table_schema = current_schema() AND (table_name, column_name) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [ACTIVITY_TABLES.map(([t]) => t), ACTIVITY_TABLES.map(([, c]) => c)],
  );
  for (const { table_name: t, column_name: c } of present) {
    const { rows } = await mas.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t} WHERE ${c} > $1::timestamptz`, [record.createdAt]);
    if ((rows[0]?.n ?? 0) > 0) activity[t] = rows[0]?.n ?? 0;
  }
  return { record, ...(tableCounts !== undefined ? { tableCounts } : {}), activity };
}

export interface StageInput {
  state: StageState;
  identity: SynapseIdentity;
  providerMapping: ReadonlyMap<string, string>;
  skippedProviders: ReadonlySet<string>;
  masMigration: string | null;
  now: number;
}

const RESTART =
  'To start over, drop and recreate the MAS database, run `mas-cli database migrate` and `mas-cli config sync`, then stage again with `mas-tool syn2mas migrate --stage`.';

export function stageFindings(input: StageInput): Finding[] {
  const { record, tableCounts, activity } = input.state;
  const findings: Finding[] = [];
  if (record.format !== STAGE_FORMAT) {
    findings.push(
      finding('E_STAGE_FORMAT', 'error', `The MAS database holds a stage in format ${record.format}; this mas-tool reads format ${STAGE_FORMAT}.`, {
        fix: `Use the mas-tool version that made the stage. ${RESTART}`,
        details: { format: record.format },
      }),
    );
    return findings;
  }
  if (!sameIdentity(record.identity, input.identity)) {
    findings.push(
      finding(
        'E_STAGE_OTHER_SYNAPSE',
        'error',
        `The MAS database holds a stage of another Synapse: staged from ${record.synapseTarget} (server name '${record.identity.serverName}', ` +
          `first user ${record.identity.firstUser ?? '(none)'}), but this Synapse is '${input.identity.serverName}' with first user ${input.identity.firstUser ?? '(none)'}.`,
        { fix: `Point --synapse-config (or --synapse-database-uri) at the Synapse that was staged. ${RESTART}`, details: { staged: record.identity, current: input.identity } },
      ),
    );
  }
  const conflicts = mappingConflicts(record, input.providerMapping, input.skippedProviders);
  if (conflicts.length > 0) {
    const describe = (idp: string, mapped: string | undefined, skipped: boolean): string => (skipped ? `${idp} skipped` : mapped !== undefined ? `${idp}:${mapped}` : `${idp} unmapped`);
    findings.push(
      finding(
        'E_STAGE_PROVIDER_MAPPING',
        'error',
        `The stage was made with another SSO provider mapping: ` +
          conflicts
            .map((idp) => `staged ${describe(idp, record.providerMapping[idp], record.skippedProviders.includes(idp))}, now ${describe(idp, input.providerMapping.get(idp), input.skippedProviders.has(idp))}`)
            .join('; ') +
          '.',
        {
          fix: `Run with the configuration and --upstream-provider-mapping / --ignore-missing-auth-providers flags the stage was made with. ${RESTART}`,
          details: { staged: { mapping: record.providerMapping, skipped: record.skippedProviders }, current: { mapping: Object.fromEntries(input.providerMapping), skipped: [...input.skippedProviders] } },
        },
      ),
    );
  }
  if (record.masMigration !== input.masMigration) {
    findings.push(
      finding('E_STAGE_MAS_SCHEMA', 'error', `The MAS schema changed since the stage (migration ${record.masMigration ?? 'none'}, now ${input.masMigration ?? 'none'}): the staged rows were written for the old one.`, {
        fix: `Keep MAS at one release from the stage to the cut-over. ${RESTART}`,
        details: { staged: record.masMigration, current: input.masMigration },
      }),
    );
  }
  // A table the stage has no count for held no staged row (a stage made before mas-tool wrote it).
  const changed = Object.entries(tableCounts ?? {}).filter(([t, n]) => (record.tableCounts[t] ?? 0) !== n);
  if (changed.length > 0 || Object.keys(activity).length > 0) {
    findings.push(
      finding(
        'E_STAGE_MAS_IN_USE',
        'error',
        'Something other than mas-tool wrote to the staged MAS database (is MAS running on it?): ' +
          [
            ...changed.map(([t, n]) => `${t} has ${n} rows, the stage left ${record.tableCounts[t] ?? 0}`),
            ...Object.entries(activity).map(([t, n]) => `${t} has ${n} rows newer than the stage`),
          ].join('; ') +
          '.',
        {
          fix: `A staged MAS database must not be served until the cut-over: stop MAS (and its workers). Rows MAS wrote cannot be told apart from staged ones. ${RESTART}`,
          details: { tables: Object.fromEntries(changed.map(([t, n]) => [t, { now: n, staged: record.tableCounts[t] ?? 0 }])), activity },
        },
      ),
    );
  }
  if (findings.length > 0) return findings;
  const age = input.now - Date.parse(record.stagedAt);
  if (age > STALE_AFTER_MS) {
    findings.push(
      finding('W_STAGE_STALE', 'warning', `The stage was last brought up to date ${Math.floor(age / 3600000)} hours ago (${record.stagedAt}).`, {
        fix: 'Run `mas-tool syn2mas migrate --stage` again shortly before the cut-over (Synapse may keep running), so that the cut-over has little left to apply.',
        details: { stagedAt: record.stagedAt, hours: Math.floor(age / 3600000) },
      }),
    );
  }
  findings.push(
    finding(
      'I_STAGE_PRESENT',
      'info',
      `The MAS database holds a stage of this Synapse, read at ${record.stagedAt}${record.refreshes > 0 ? ` (first made ${record.createdAt}, refreshed ${record.refreshes} time${record.refreshes === 1 ? '' : 's'})` : ''}: ` +
        '`mas-tool syn2mas migrate` cuts over (Synapse stopped), `--stage` refreshes it. MAS must not serve this database before the cut-over.',
      { details: { createdAt: record.createdAt, stagedAt: record.stagedAt, refreshes: record.refreshes } },
    ),
  );
  return findings;
}
