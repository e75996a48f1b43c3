// `mas-tool syn2mas migrate` end to end on our data fixture: what lands in MAS, row by row, and the
// guarantees around it (dry run, re-run, concurrent runs, a running Synapse, Synapse never written).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidTimestampMs } from '../../src/syn2mas/ids.js';
import { run } from '../helpers/cli.js';
import { sessionFiguresOfTables } from '../helpers/session-figures.js';
import { snapshotDatabase } from '../helpers/db-snapshot.js';
import { createSyn2masEnv, SHARED_SECRET, type Syn2masEnv } from '../helpers/syn2mas-env.js';

const envs: Syn2masEnv[] = [];
async function env(options?: Parameters<typeof createSyn2masEnv>[0]): Promise<Syn2masEnv> {
  const e = await createSyn2masEnv(options);
  envs.push(e);
  return e;
}
afterAll(async () => {
  await Promise.all(envs.map((e) => e.drop()));
});

// The registration tokens of the fixture are credentials too: whoever holds one may register.
const REGISTRATION_TOKENS = ['Fr1endsInv1te-26', 'AllUsedUp.3of3', 'Expired~2020', 'Unl1mited_forever', 'LastSeat-pending', 'ZeroUsesAllowed'];
const SECRETS = ['syt_', 'syr_', '$2b$', SHARED_SECRET, 'oidc-client-secret', 'mas-client-secret', ...REGISTRATION_TOKENS];

describe('a migration of the fixture homeserver', () => {
  let e: Syn2masEnv;
  let result: Awaited<ReturnType<typeof run>>;
  let report: { migration: { entities: Record<string, { migrated: number; skipped: Record<string, number> }>; sessions: Record<string, number> }; findings: Array<{ code: string; details?: { plan?: unknown } }> };
  let synapseBefore: Awaited<ReturnType<typeof snapshotDatabase>>;
  const q = async <R extends Record<string, unknown>>(sql: string, values?: unknown[]) => (await e.mas.client.query<R>(sql, values)).rows;

  beforeAll(async () => {
    e = await env();
    synapseBefore = await snapshotDatabase(e.synapse.client);
    result = await run(['syn2mas', 'migrate', '--json', '--report', join(e.dir, 'report.json'), ...e.args('main')]);
    report = JSON.parse(result.stdout);
  });

  it('succeeds with exit 0', () => {
    expect(result.stderr).not.toContain('error:');
    expect(result.code).toBe(0);
  });

  it('writes users with their flags, the localpart as username and creation_ts as created_at', async () => {
    const users = await q<{ username: string; created_at: Date; locked: boolean; deactivated: boolean; can_request_admin: boolean; is_guest: boolean; id_ms: string }>(
      `SELECT username, created_at, locked_at IS NOT NULL AS locked, deactivated_at IS NOT NULL AS deactivated, can_request_admin, is_guest
         FROM users ORDER BY username`,
    );
    expect(users.map((u) => [u.username, u.locked, u.deactivated, u.can_request_admin, u.is_guest])).toEqual([
      ['100', false, false, false, true],
      ['alice', false, false, false, false],
      ['bob', false, false, true, false],
      ['carol', false, true, false, false],
      ['dave', true, false, false, false],
      ['erin', false, false, false, false],
      ['frank', false, false, false, false],
      ['grace', false, false, false, false],
    ]);
    const [alice] = await q<{ user_id: string; created_at: Date; locked_at: Date | null }>(`SELECT user_id::text, created_at, locked_at FROM users WHERE username = 'alice'`);
    expect(alice?.created_at.toISOString()).toBe('2018-06-30T21:26:02.000Z');
    expect(uuidTimestampMs(alice?.user_id ?? '')).toBe(1530393962000);
    const [dave] = await q<{ created_at: Date; locked_at: Date }>(`SELECT created_at, locked_at FROM users WHERE username = 'dave'`);
    expect(dave?.locked_at.getTime()).toBe(dave?.created_at.getTime());
  });

  it('copies password hashes verbatim as version 1, only for users that have one', async () => {
    const rows = await q<{ username: string; hashed_password: string; version: number }>(
      `SELECT u.username, p.hashed_password, p.version FROM user_passwords p JOIN users u USING (user_id) ORDER BY 1`,
    );
    const synapse = await e.synapse.client.query<{ name: string; password_hash: string }>(`SELECT name, password_hash FROM users WHERE name = '@alice:example.com'`);
    expect(rows.map((r) => r.username)).toEqual(['alice', 'bob', 'dave', 'frank', 'grace']);
    expect(rows.every((r) => r.version === 1)).toBe(true);
    expect(rows.find((r) => r.username === 'alice')?.hashed_password).toBe(synapse.rows[0]?.password_hash);
  });

  it('writes emails verbatim and keeps phone numbers in the unsupported table', async () => {
    expect(await q(`SELECT u.username, e.email, e.created_at FROM user_emails e JOIN users u USING (user_id)`)).toEqual([
      { username: 'alice', email: expect.stringContaining('@'), created_at: new Date(1554228549014) },
    ]);
    expect(await q(`SELECT u.username, t.medium, t.created_at FROM user_unsupported_third_party_ids t JOIN users u USING (user_id)`)).toEqual([
      { username: 'alice', medium: 'msisdn', created_at: new Date(1555228549014) },
    ]);
  });

  it('links SSO users to the mapped MAS provider', async () => {
    expect(await q(`SELECT u.username, l.subject FROM upstream_oauth_links l JOIN users u USING (user_id)`)).toEqual([{ username: 'erin', subject: '871.syn30' }]);
    const [link] = await q<{ provider: string }>(`SELECT upstream_oauth_provider_id::text AS provider FROM upstream_oauth_links`);
    const [provider] = await q<{ id: string }>(`SELECT upstream_oauth_provider_id::text AS id FROM upstream_oauth_providers`);
    expect(link?.provider).toBe(provider?.id);
  });

  it('makes one compat session per visible device, with its name, last seen, IP and agent', async () => {
    const [adevice] = await q<Record<string, unknown>>(
      `SELECT u.username, s.human_name, s.last_active_at, host(s.last_active_ip) AS ip, s.user_agent IS NOT NULL AS has_agent, s.is_synapse_admin, s.finished_at
         FROM compat_sessions s JOIN users u USING (user_id) WHERE s.device_id = 'ADEVICE'`,
    );
    expect(adevice).toEqual({ username: 'alice', human_name: 'Matrix Console', last_active_at: new Date(1623366000000), ip: '203.0.113.1', has_agent: true, is_synapse_admin: false, finished_at: null });
    const devices = await q<{ device_id: string | null }>(`SELECT device_id FROM compat_sessions ORDER BY device_id`);
    const synapseVisible = await e.synapse.client.query<{ device_id: string }>(
      `SELECT d.device_id FROM devices d JOIN users u ON u.name = d.user_id
        WHERE d.hidden IS FALSE AND d.device_id <> 'guest_device' AND u.deactivated = 0 AND u.is_guest = 0 AND u.appservice_id IS NULL`,
    );
    expect(devices.filter((d) => d.device_id !== null).map((d) => d.device_id).sort()).toEqual(synapseVisible.rows.map((r) => r.device_id).sort());
  });

  it('marks every device session of a Synapse admin as an admin session', async () => {
    const rows = await q<{ username: string; is_synapse_admin: boolean }>(
      `SELECT DISTINCT u.username, s.is_synapse_admin FROM compat_sessions s JOIN users u USING (user_id) WHERE s.device_id IS NOT NULL ORDER BY 1`,
    );
    for (const r of rows) expect(r.is_synapse_admin).toBe(r.username === 'bob');
  });

  it('copies tokens verbatim, attached to their device session, and skips puppet tokens', async () => {
    const synapse = await e.synapse.client.query<{ token: string; device_id: string | null; user_id: string; puppets_user_id: string | null }>(
      `SELECT token, device_id, user_id, puppets_user_id FROM access_tokens WHERE user_id = '@alice:example.com' AND refresh_token_id IS NULL`,
    );
    const mas = await q<{ access_token: string; device_id: string | null; username: string }>(
      `SELECT t.access_token, s.device_id, u.username FROM compat_access_tokens t JOIN compat_sessions s USING (compat_session_id) JOIN users u USING (user_id)`,
    );
    const byToken = new Map(mas.map((m) => [m.access_token, m]));
    for (const row of synapse.rows) {
      const migrated = byToken.get(row.token);
      if (row.puppets_user_id !== null) expect(migrated).toBeUndefined();
    }
    const adeviceToken = synapse.rows.find((r) => r.device_id === 'ADEVICE');
    expect(byToken.get(adeviceToken?.token ?? '')).toMatchObject({ device_id: 'ADEVICE', username: 'alice' });
  });

  it('keeps only the live refresh pairs: the confirmed rotation drops the old pair, the unconfirmed one keeps both', async () => {
    const pairs = await q<{ username: string; n: number }>(
      `SELECT u.username, count(*)::int AS n FROM compat_refresh_tokens r JOIN compat_sessions s USING (compat_session_id) JOIN users u USING (user_id) GROUP BY 1 ORDER BY 1`,
    );
    expect(pairs).toEqual([
      { username: 'frank', n: 1 },
      { username: 'grace', n: 2 },
    ]);
    const broken = await q(
      `SELECT 1 FROM compat_refresh_tokens r JOIN compat_access_tokens a USING (compat_access_token_id) WHERE a.compat_session_id <> r.compat_session_id`,
    );
    expect(broken).toEqual([]);
  });

  it('gives a deviceless token its own session, never an admin one', async () => {
    const rows = await q<{ is_synapse_admin: boolean; tokens: number }>(
      `SELECT s.is_synapse_admin, count(t.*)::int AS tokens FROM compat_sessions s LEFT JOIN compat_access_tokens t USING (compat_session_id) WHERE s.device_id IS NULL GROUP BY s.compat_session_id`,
    );
    expect(rows).toEqual([{ is_synapse_admin: false, tokens: 1 }]);
  });

  it('carries the registration tokens that can still be used, with their limit, uses and expiry, created at the run', async () => {
    const rows = await q<{ token: string; usage_limit: number | null; times_used: number; expires_at: Date | null; last_used_at: Date | null; revoked_at: Date | null; created: boolean; id_ms_is_created_at: boolean }>(
      `SELECT token, usage_limit, times_used, expires_at, last_used_at, revoked_at,
              created_at BETWEEN now() - interval '10 minutes' AND now() AS created,
              (('x' || substr(replace(user_registration_token_id::text, '-', ''), 1, 12))::bit(48)::bigint = (extract(epoch FROM created_at) * 1000)::bigint) AS id_ms_is_created_at
         FROM user_registration_tokens ORDER BY token`,
    );
    expect(rows).toEqual([
      { token: 'Fr1endsInv1te-26', usage_limit: 5, times_used: 2, expires_at: new Date(4102444800000), last_used_at: null, revoked_at: null, created: true, id_ms_is_created_at: true },
      // A pending registration cannot finish once MAS takes over: its use is not spent.
      { token: 'LastSeat-pending', usage_limit: 1, times_used: 0, expires_at: null, last_used_at: null, revoked_at: null, created: true, id_ms_is_created_at: true },
      { token: 'Unl1mited_forever', usage_limit: null, times_used: 7, expires_at: null, last_used_at: null, revoked_at: null, created: true, id_ms_is_created_at: true },
    ]);
    expect(report.migration.entities.registrationTokens).toEqual({ migrated: 3, skipped: { expired: 1, used_up: 2 } });
  });

  it('reports the same counts as the check plan, with skip reasons', () => {
    const plan = report.findings.find((f) => f.code === 'I_SUMMARY')?.details?.plan as Record<string, { migrate: number; skipped: Record<string, number> }>;
    for (const key of ['users', 'emails', 'unsupportedThreepids', 'upstreamLinks', 'devices', 'accessTokens', 'refreshTokens', 'deviceless', 'registrationTokens']) {
      const entity = report.migration.entities[key];
      expect({ key, migrated: entity?.migrated }).toEqual({ key, migrated: plan[key]?.migrate });
      const skipped = Object.fromEntries(Object.entries(plan[key]?.skipped ?? {}).filter(([, n]) => n > 0));
      expect({ key, skipped: entity?.skipped }).toEqual({ key, skipped });
    }
    expect(report.migration.sessions.usersKeepingSessions).toBeGreaterThan(0);
  });

  it('reports which sessions stay logged in, with the figures the rows written give', async () => {
    const reference = await sessionFiguresOfTables(e.mas.client);
    expect(report.migration.sessions).toEqual(reference);
    expect(report.migration.sessions).toEqual({ compatSessions: 7, withTokens: 7, usersKeepingSessions: 6, usersWithoutSessions: 0, adminSessions: 1 });
  });

  it('analyzes the tables it wrote, inside the migration, and reports each step after the load', async () => {
    const phases = (report.migration as unknown as { phases: Array<{ name: string; status: string }> }).phases;
    expect(phases.slice(-4).map((p) => [p.name, p.status])).toEqual([
      ['rebuild constraints and indexes', 'done'],
      ['analyze', 'done'],
      ['session summary', 'done'],
      ['commit', 'done'],
    ]);
    const analyzed = await q<{ relname: string }>(
      `SELECT relname FROM pg_stat_user_tables WHERE relname IN ('users', 'compat_sessions', 'compat_access_tokens') AND last_analyze IS NOT NULL ORDER BY 1`,
    );
    expect(analyzed.map((r) => r.relname)).toEqual(['compat_access_tokens', 'compat_sessions', 'users']);
  });

  it('leaves every constraint and index of MAS in place', async () => {
    const fresh = await env();
    const before = await snapshotDatabase(fresh.mas.client);
    const after = await snapshotDatabase(e.mas.client);
    expect(after.constraints).toEqual(before.constraints);
    expect(after.indexes).toEqual(before.indexes);
    expect(after.columns).toEqual(before.columns);
  });

  it('never writes to the Synapse database', async () => {
    expect(await snapshotDatabase(e.synapse.client)).toEqual(synapseBefore);
  });

  it('never prints or stores a secret or token', () => {
    const saved = readFileSync(join(e.dir, 'report.json'), 'utf8');
    for (const text of [result.stdout, result.stderr, saved]) for (const secret of SECRETS) expect(text).not.toContain(secret);
  });

  it('refuses a second migration into the now populated MAS database (exit 10)', async () => {
    const again = await run(['syn2mas', 'migrate', ...e.args('again')]);
    expect(again.code).toBe(10);
    expect(again.stdout).toContain('E_MAS_NOT_EMPTY');
  });
});

describe('guarantees', () => {
  it('counts active users left without a working session, the same in a dry run and a real run', async () => {
    const e = await env();
    // Alice's device keeps its session but loses its only token: she has to log in again.
    await e.synapse.client.query(`DELETE FROM access_tokens WHERE user_id = '@alice:example.com' AND device_id = 'ADEVICE'`);
    const dry = await run(['syn2mas', 'migrate', '--dry-run', '--json', ...e.args('main')]);
    const real = await run(['syn2mas', 'migrate', '--json', ...e.args('main')]);
    expect([dry.code, real.code]).toEqual([0, 0]);
    const sessions = (r: typeof dry) => (JSON.parse(r.stdout) as { migration: { sessions: Record<string, number> } }).migration.sessions;
    expect(sessions(real)).toEqual({ compatSessions: 7, withTokens: 6, usersKeepingSessions: 5, usersWithoutSessions: 1, adminSessions: 1 });
    expect(sessions(dry)).toEqual(sessions(real));
  });

  it('a dry run does the whole migration, then leaves MAS exactly as it was', async () => {
    const e = await env();
    const before = await snapshotDatabase(e.mas.client);
    const r = await run(['syn2mas', 'migrate', '--dry-run', '--json', ...e.args('dry')]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.dryRun).toBe(true);
    expect(doc.migration.entities.users.migrated).toBe(8);
    expect(doc.migration.phases.map((p: { name: string }) => p.name)).toContain('rebuild constraints and indexes');
    expect(await snapshotDatabase(e.mas.client)).toEqual(before);
    // ...and a real run can follow.
    expect((await run(['syn2mas', 'migrate', ...e.args('real')])).code).toBe(0);
  });

  it('refuses to run beside another migration holding the syn2mas advisory lock (as mas-cli does)', async () => {
    const e = await env();
    const other = new pg.Client({ connectionString: e.mas.url });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock(6584285998412104315)');
      const before = await snapshotDatabase(e.mas.client);
      const r = await run(['syn2mas', 'migrate', ...e.args('locked')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('Another migration (mas-tool or mas-cli syn2mas) is running');
      expect(await snapshotDatabase(e.mas.client)).toEqual(before);
    } finally {
      await other.end();
    }
  });

  it('fails fast when Synapse is still writing, and a dry run does not mind', async () => {
    const e = await env();
    const synapseSession = new pg.Client({ connectionString: e.synapse.url, application_name: 'synapse_homeserver' });
    await synapseSession.connect();
    try {
      // An open write transaction on users, as a running Synapse has now and then.
      await synapseSession.query(`BEGIN; UPDATE users SET admin = admin WHERE name = '@alice:example.com'`);
      const r = await run(['syn2mas', 'migrate', ...e.args('busy')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('is Synapse still running?');
      // The holder is named, so that the operator knows what to stop.
      expect(r.stderr).toMatch(/users is in use by 'synapse_homeserver' \(pid \d+ from 127\.0\.0\.1\)/);
      expect(await e.mas.client.query('SELECT count(*)::int AS n FROM users')).toMatchObject({ rows: [{ n: 0 }] });
      const dry = await run(['syn2mas', 'migrate', '--dry-run', ...e.args('busy-dry')]);
      expect(dry.code).toBe(0);
    } finally {
      await synapseSession.query('ROLLBACK');
      await synapseSession.end();
    }
  });

  it('stops with exit 10 before writing anything when the check finds an error', async () => {
    const e = await env();
    const before = await snapshotDatabase(e.mas.client);
    const r = await run(['syn2mas', 'migrate', ...e.args('err', { synapse: { allow_guest_access: true } })]);
    expect(r.code).toBe(10);
    expect(r.stdout).toContain('E_GUEST_ACCESS_ENABLED');
    expect(await snapshotDatabase(e.mas.client)).toEqual(before);
  });

  it('writes confirmed_at = created_at into a MAS schema before v1.10', async () => {
    const e = await env({ masTemplate: 'mas-pre-1.10' });
    expect((await run(['syn2mas', 'migrate', ...e.args('old')])).code).toBe(0);
    const rows = await e.mas.client.query(`SELECT confirmed_at = created_at AS same FROM user_emails`);
    expect(rows.rows).toEqual([{ same: true }]);
  });
});
