// The floor a migration is measured against: the same rows moved with plain COPY, out of Synapse and
// into the MAS tables with their constraints and indexes paused, then building those once, all in one
// transaction that is rolled back. Rows are shaped into MAS's columns by trivial SQL expressions;
// nothing passes through JavaScript (the bytes go straight from one COPY stream to the other).
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import pgCopy from 'pg-copy-streams';
import { ulidToUUID } from 'ulid';
import { pauseConstraints, restoreObject } from '../src/db/constraints.js';
import { inspectMasSchema, presentTargetTables } from '../src/db/mas-schema.js';
import { beginReadSnapshot } from '../src/db/snapshot.js';
import { masEncoders } from '../src/syn2mas/writer.js';
import { phaseQueries } from '../src/syn2mas/reader.js';
import { validIpSql } from '../src/syn2mas/synapse-sql.js';

export interface FloorResult {
  /** Per MAS load step: rows and milliseconds. */
  steps: Array<{ name: string; table: string; rows: number; ms: number }>;
  rebuildMs: number;
  totalMs: number;
}

const ts = (ms: string): string => `to_timestamp((${ms}) / 1000.0)`;

export async function measureFloor(synapseUrl: string, masUrl: string, serverName: string, providers: ReadonlyMap<string, string>): Promise<FloorResult> {
  const synapse = new pg.Client({ connectionString: synapseUrl });
  const mas = new pg.Client({ connectionString: masUrl });
  await synapse.connect();
  await mas.connect();
  const started = performance.now();
  try {
    const version = Number((await synapse.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]?.v);
    const q = phaseQueries(serverName, (s) => synapse.escapeLiteral(s));
    const migrate = (phase: keyof typeof q, columns: string, where = 'true'): string => `SELECT ${columns} FROM (${q[phase]}) q WHERE reason = 'migrate' AND ${where}`;
    const provider = `CASE auth_provider ${[...providers].map(([idp, ulid]) => `WHEN ${synapse.escapeLiteral(idp)} THEN '${ulidToUUID(ulid)}'`).join(' ')} END::uuid`;
    const now = String(Date.now());
    // The same tables and columns the migration's writer fills.
    const schema = await inspectMasSchema(mas);
    const enc = masEncoders(schema);
    const steps: Array<{ name: string; target: { table: string; columns: readonly string[] }; query: string }> = [
      {
        name: 'users',
        target: enc.users,
        query: migrate('users', `md5(name)::uuid, split_part(substr(name, 2), ':', 1), to_timestamp(creation_ts),
          CASE WHEN locked THEN to_timestamp(creation_ts) END, CASE WHEN deactivated <> 0 THEN to_timestamp(creation_ts) END, admin <> 0, is_guest <> 0`),
      },
      {
        name: 'passwords',
        target: enc.passwords,
        query: migrate('users', `md5('p' || name)::uuid, md5(name)::uuid, password_hash, to_timestamp(creation_ts), 1`, `password_hash <> ''`),
      },
      {
        name: 'emails',
        target: enc.emails,
        query: migrate('threepids', `md5(medium || address)::uuid, md5(user_id)::uuid, address, ${ts('added_at')}`, `medium = 'email'`),
      },
      {
        name: 'other third-party IDs',
        target: enc.unsupportedThreepids,
        query: migrate('threepids', `md5(user_id)::uuid, medium, address, ${ts('added_at')}`, `medium <> 'email'`),
      },
      {
        name: 'upstream links',
        target: enc.upstreamLinks,
        query: migrate('externalIds', `md5(auth_provider || external_id)::uuid, md5(user_id)::uuid, ${provider}, external_id, to_timestamp(creation_ts)`),
      },
      {
        name: 'devices',
        target: enc.sessions,
        query: migrate('devices', `md5(user_id || device_id)::uuid, md5(user_id)::uuid, device_id, display_name, ${ts(`coalesce(ts, ${now})`)}, admin <> 0,
          ${ts('last_seen')}, CASE WHEN ${validIpSql('ip', version)} THEN ip::inet END, user_agent`),
      },
      {
        name: 'deviceless sessions',
        target: enc.sessions,
        query: migrate('devicelessTokens', `md5(user_id || 'd' || id)::uuid, md5(user_id)::uuid, NULL, NULL, ${ts(`coalesce(last_validated, ${now})`)}, false, NULL, NULL, NULL`),
      },
      {
        name: 'access tokens',
        target: enc.accessTokens,
        query: migrate('accessTokens', `md5('a' || id)::uuid, md5(user_id || coalesce(device_id, 'd' || id))::uuid, token, ${ts(`coalesce(last_validated, ${now})`)}, ${ts('valid_until_ms')}`),
      },
      {
        name: 'refreshable access tokens',
        target: enc.accessTokens,
        query: migrate('refreshPairs', `md5('a' || at_id)::uuid, md5(user_id || device_id)::uuid, at_token, ${ts(`coalesce(last_validated, ${now})`)}, ${ts('valid_until_ms')}`),
      },
      {
        name: 'refresh tokens',
        target: enc.refreshTokens,
        query: migrate('refreshPairs', `md5('r' || rt_id)::uuid, md5(user_id || device_id)::uuid, md5('a' || at_id)::uuid, rt_token, ${ts(`coalesce(last_validated, ${now})`)}`),
      },
      ...(schema.columns.user_registration_tokens === undefined
        ? []
        : [
            {
              name: 'registration tokens',
              target: enc.registrationTokens,
              query: migrate('registrationTokens', `md5('t' || token)::uuid, token, uses_allowed, completed, ${ts(now)}, ${ts('expiry_time')}`),
            },
          ]),
    ];
    // The settings the migration's reads get (without its locks), so that both run the same plans.
    await beginReadSnapshot(synapse);
    await mas.query('BEGIN');
    // The memory the migration's MAS transaction gets (writer.ts), for the same rebuild plans.
    await mas.query(`SET LOCAL maintenance_work_mem = '256MB'`);
    await mas.query(`SET LOCAL work_mem = '256MB'`);
    const paused = await pauseConstraints(mas, presentTargetTables(schema));
    const results: FloorResult['steps'] = [];
    for (const step of steps) {
      const t0 = performance.now();
      const sink = mas.query(pgCopy.from(`COPY ${step.target.table} (${step.target.columns.join(', ')}) FROM STDIN`));
      await pipeline(synapse.query(pgCopy.to(`COPY (${step.query}) TO STDOUT`)), sink);
      results.push({ name: step.name, table: step.target.table, rows: sink.rowCount, ms: performance.now() - t0 });
    }
    const r0 = performance.now();
    for (const o of paused) await restoreObject(mas, o);
    const rebuildMs = performance.now() - r0;
    await mas.query('ROLLBACK');
    await synapse.query('COMMIT');
    return { steps: results, rebuildMs, totalMs: performance.now() - started };
  } finally {
    await mas.end().catch(() => undefined);
    await synapse.end().catch(() => undefined);
  }
}
