// `mas-tool syn2mas check` end to end: real config files, a real Synapse database with our data
// fixture, a real MAS database, run through the CLI as an operator would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';
import type { TestDatabase } from '../helpers/db.js';
import { createSyn2masEnv, PROVIDER_ULID as PROVIDER, SHARED_SECRET, type Syn2masEnv } from '../helpers/syn2mas-env.js';

let env: Syn2masEnv;
let synapse: TestDatabase;
let readonlyUrl: { synapse: string; mas: string };

beforeAll(async () => {
  env = await createSyn2masEnv();
  synapse = env.synapse;
  // A role that can only read: if check tried to write anything, it would fail.
  const role = `ro_${synapse.name.slice(-10)}`;
  for (const db of [env.synapse, env.mas]) {
    await db.client.query(`DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role} LOGIN PASSWORD 'ro-password'; END IF; END $$`);
    await db.client.query(`GRANT CONNECT ON DATABASE "${db.name}" TO ${role}; GRANT USAGE ON SCHEMA public TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
  }
  const ro = (db: TestDatabase) => {
    const u = new URL(db.url);
    u.username = role;
    u.password = 'ro-password';
    return u.toString();
  };
  readonlyUrl = { synapse: ro(env.synapse), mas: ro(env.mas) };
});

afterAll(async () => {
  await env?.drop();
});

describe('syn2mas check', () => {
  it('reports the fixture homeserver: no errors, its warnings, a summary; exit 11', async () => {
    const r = await run(['syn2mas', 'check', '--json', ...env.args('ok')]);
    const report = JSON.parse(r.stdout);
    expect(report.findings.filter((f: { severity: string }) => f.severity === 'error')).toEqual([]);
    expect(r.code).toBe(11);
    expect(report.exitCode).toBe(11);
    const codes = report.findings.map((f: { code: string }) => f.code);
    expect(codes).toEqual(expect.arrayContaining(['W_APPSERVICE_USERS', 'W_GUESTS_IN_DATABASE', 'W_NON_EMAIL_THREEPIDS', 'I_SUMMARY']));
    expect(codes.at(-1)).toBe('I_SUMMARY');
    expect(report.targets.synapse).toMatchObject({ host: '127.0.0.1', database: synapse.name });
    expect(report.findings.at(-1).details.plan.users.migrate).toBeGreaterThan(0);
  });

  it('exits 0 when every warning is accepted, and names what was accepted', async () => {
    const first = JSON.parse((await run(['syn2mas', 'check', '--json', ...env.args('acc')])).stdout);
    const warnings = [...new Set(first.findings.filter((f: { severity: string }) => f.severity === 'warning').map((f: { code: string }) => f.code))] as string[];
    const r = await run(['syn2mas', 'check', '--json', '--accept', warnings.join(','), ...env.args('acc')]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, exitCode: 0, accepted: warnings });
  });

  it('exits 10 on errors, listing errors before warnings before the summary', async () => {
    const r = await run(['syn2mas', 'check', ...env.args('err', { synapse: { allow_guest_access: true }, mas: { matrix: { homeserver: 'other.example', secret: SHARED_SECRET } } })]);
    expect(r.code).toBe(10);
    const errors = r.stdout.indexOf('Errors (');
    const warnings = r.stdout.indexOf('Warnings (');
    const summary = r.stdout.indexOf('Summary');
    expect(errors).toBeGreaterThanOrEqual(0);
    expect(errors).toBeLessThan(warnings);
    expect(warnings).toBeLessThan(summary);
    expect(r.stdout).toContain('E_SERVER_NAME_MISMATCH');
    expect(r.stdout).toContain('E_GUEST_ACCESS_ENABLED');
  });

  it('prints the resolved targets first, and never a password, token or secret', async () => {
    const r = await run(['syn2mas', 'check', ...env.args('targets')]);
    expect(r.stderr.split('\n')[0]).toMatch(new RegExp(`^→ Synapse database ${synapse.name} on 127\\.0\\.0\\.1:\\d+ as postgres`));
    const all = r.stdout + r.stderr + (await run(['syn2mas', 'check', '--json', ...env.args('targets')])).stdout;
    for (const secret of [new URL(synapse.url).password, SHARED_SECRET, 'oidc-client-secret', 'mas-client-secret', 'syt_', 'syr_', '$2b$']) {
      expect(all).not.toContain(secret);
    }
  });

  it('runs with a role that can only read both databases', async () => {
    const r = await run(['syn2mas', 'check', '--json', ...env.args('ro', { synapseUrl: readonlyUrl.synapse, masUrl: readonlyUrl.mas })]);
    expect(r.stderr).not.toContain('error:');
    expect([10, 11, 0]).toContain(r.code);
    expect(JSON.parse(r.stdout).findings.some((f: { code: string }) => f.code === 'I_SUMMARY')).toBe(true);
  });

  it('exits 1 with a clear message when a database cannot be reached', async () => {
    const r = await run(['syn2mas', 'check', ...env.args('down', { masUrl: 'postgresql://mas@127.0.0.1:1/mas' })]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('connecting to the MAS database mas on 127.0.0.1:1 as mas');
    expect(r.stderr).toContain('hint:');
  });

  it('refuses to accept an error code, and an unknown code (exit 2)', async () => {
    const args = env.args('acc2');
    expect((await run(['syn2mas', 'check', '--accept', 'E_MAS_NOT_EMPTY', ...args])).code).toBe(2);
    expect((await run(['syn2mas', 'check', '--accept', 'W_NOT_A_CODE', ...args])).stderr).toContain('no such warning code');
  });

  it('uses an explicit --upstream-provider-mapping, and rejects a malformed one', async () => {
    const unmapped = {
      mas: { upstream_oauth2: { providers: [{ id: PROVIDER, issuer: 'https://id.example.com/', client_id: 'mas', client_secret: 'x', token_endpoint_auth_method: 'client_secret_basic' }] } },
    };
    const without = JSON.parse((await run(['syn2mas', 'check', '--json', ...env.args('map', unmapped)])).stdout);
    expect(without.findings.map((f: { code: string }) => f.code)).toContain('E_MAS_PROVIDER_MISSING');
    const withFlag = JSON.parse(
      (await run(['syn2mas', 'check', '--json', '--upstream-provider-mapping', `oidc-raasu:${PROVIDER}`, ...env.args('map', unmapped)])).stdout,
    );
    expect(withFlag.findings.map((f: { code: string }) => f.code)).not.toContain('E_MAS_PROVIDER_MISSING');
    expect((await run(['syn2mas', 'check', '--upstream-provider-mapping', 'oidc-raasu', ...env.args('map', unmapped)])).code).toBe(2);
  });
});
