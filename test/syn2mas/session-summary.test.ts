// The report's session figures, counted from the streams, against the rows the migration wrote, on
// a generated population with every kind of device and token: devices with plain tokens, with
// refresh pairs only (current, superseded, unconfirmed rotations), with no token left, hidden and
// guest devices, deviceless and puppet tokens, locked, deactivated and guest users.
import { ulidToUUID } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSynapseData } from '../../bench/generate.js';
import { connect } from '../../src/db/connection.js';
import { inspectMasSchema } from '../../src/db/mas-schema.js';
import { loadSyn2masContext } from '../../src/syn2mas/context.js';
import { runMigration, type MigrationReport } from '../../src/syn2mas/migrate.js';
import { sessionFiguresOfTables } from '../helpers/session-figures.js';
import { createSyn2masEnv, type Syn2masEnv } from '../helpers/syn2mas-env.js';

const PROVIDERS: Record<string, string> = { 'oidc-github': '01J9Q8R5GH6W3T0N4K2M7PB1XA', 'oidc-keycloak': '01J9Q8R5KC8F2D5VQ9Y3ZS7E4B' };

let e: Syn2masEnv;
let report: MigrationReport;

beforeAll(async () => {
  e = await createSyn2masEnv({ fixtures: [] });
  await generateSynapseData(e.synapse.client, { users: 3000, serverName: 'example.com', seed: 7 });
  // A few devices whose every token is gone, one of them the user's only device.
  await e.synapse.client.query(`DELETE FROM access_tokens WHERE (user_id, device_id) IN (SELECT user_id, device_id FROM devices WHERE NOT hidden ORDER BY user_id, device_id LIMIT 40)`);
  for (const ulid of Object.values(PROVIDERS)) {
    await e.mas.client.query(
      `INSERT INTO upstream_oauth_providers (upstream_oauth_provider_id, issuer, scope, client_id, token_endpoint_auth_method, created_at)
       VALUES ($1, $2, 'openid', 'mas', 'client_secret_basic', now())`,
      [ulidToUUID(ulid), `https://${ulid.toLowerCase()}.example.com/`],
    );
  }
  const args = e.args('summary');
  const ctx = loadSyn2masContext({ masConfigPaths: [args[1] ?? ''], synapseConfigPaths: [args[3] ?? ''], env: {} });
  const probe = await connect(ctx.masDb);
  const schema = await inspectMasSchema(probe).finally(() => probe.end());
  report = await runMigration(ctx, schema, { dryRun: false, providerMapping: new Map(Object.entries(PROVIDERS)), skippedProviders: new Set() });
}, 120_000);

afterAll(async () => e?.drop());

describe('the session summary on a generated population', () => {
  it('has the figures a join of the written sessions and tokens gives', async () => {
    expect(report.sessions).toEqual(await sessionFiguresOfTables(e.mas.client));
  });

  it('is a population where each case occurs', async () => {
    const { rows } = await e.mas.client.query<{ tokenless: number; pair_only: number; deviceless: number; locked_keeping: number }>(`
      SELECT (SELECT count(*) FROM compat_sessions s WHERE NOT EXISTS (SELECT 1 FROM compat_access_tokens t WHERE t.compat_session_id = s.compat_session_id))::int AS tokenless,
             (SELECT count(DISTINCT r.compat_session_id) FROM compat_refresh_tokens r
               WHERE (SELECT count(*) FROM compat_access_tokens t WHERE t.compat_session_id = r.compat_session_id)
                   = (SELECT count(*) FROM compat_refresh_tokens x WHERE x.compat_session_id = r.compat_session_id))::int AS pair_only,
             (SELECT count(*) FROM compat_sessions WHERE device_id IS NULL)::int AS deviceless,
             (SELECT count(DISTINCT s.user_id) FROM compat_sessions s JOIN users u USING (user_id) WHERE u.locked_at IS NOT NULL)::int AS locked_keeping`);
    const r = rows[0];
    expect(r?.tokenless).toBeGreaterThan(0);
    expect(r?.pair_only).toBeGreaterThan(0);
    expect(r?.deviceless).toBeGreaterThan(0);
    expect(r?.locked_keeping).toBeGreaterThan(0);
    expect(report.sessions.withTokens).toBeLessThan(report.sessions.compatSessions);
  });
});
