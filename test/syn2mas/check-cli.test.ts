// `mas-tool syn2mas check` end to end: real config files, a real Synapse database with our data
// fixture, a real MAS database, run through the CLI as an operator would.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ulidToUUID } from 'ulid';
import { stringify } from 'yaml';
import { run } from '../helpers/cli.js';
import { createTestDatabase, loadFixture, type TestDatabase } from '../helpers/db.js';

const PROVIDER = '01H8PKNWKKRPCBW4YGH1RWV279';
const SHARED_SECRET = 'shared-secret-for-tests';
const dir = mkdtempSync(join(tmpdir(), 'mas-tool-check-'));
let synapse: TestDatabase;
let mas: TestDatabase;
let readonlyUrl: { synapse: string; mas: string };

function synapseYaml(extra: Record<string, unknown> = {}, dbUrl = synapse.url): string {
  const url = new URL(dbUrl);
  return stringify({
    server_name: 'example.com',
    report_stats: false,
    database: {
      name: 'psycopg2',
      args: { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), dbname: url.pathname.slice(1), host: url.hostname, port: Number(url.port) },
    },
    oidc_providers: [{ idp_id: 'raasu', idp_name: 'Raasu', issuer: 'https://id.example.com/', client_id: 'synapse', client_secret: 'oidc-client-secret' }],
    ...extra,
  });
}

function masYaml(extra: Record<string, unknown> = {}, dbUrl = mas.url): string {
  return stringify({
    database: { uri: dbUrl },
    matrix: { homeserver: 'example.com', endpoint: 'http://localhost:8008/', secret: SHARED_SECRET },
    passwords: {
      schemes: [
        { version: 1, algorithm: 'bcrypt', unicode_normalization: true },
        { version: 2, algorithm: 'argon2id' },
      ],
    },
    upstream_oauth2: {
      providers: [
        { id: PROVIDER, synapse_idp_id: 'oidc-raasu', issuer: 'https://id.example.com/', client_id: 'mas', client_secret: 'mas-client-secret', token_endpoint_auth_method: 'client_secret_basic' },
      ],
    },
    ...extra,
  });
}

function files(name: string, synapseText: string, masText: string): string[] {
  const hs = join(dir, `${name}-homeserver.yaml`);
  const cfg = join(dir, `${name}-mas.yaml`);
  writeFileSync(hs, synapseText);
  writeFileSync(cfg, masText);
  return ['-c', cfg, '--synapse-config', hs];
}

beforeAll(async () => {
  synapse = await createTestDatabase('synapse');
  await loadFixture(synapse.client, 'synapse-data.sql');
  mas = await createTestDatabase('mas');
  // What `mas-cli config sync` would have written for the provider above.
  await mas.client.query(
    `INSERT INTO upstream_oauth_providers (upstream_oauth_provider_id, issuer, scope, client_id, token_endpoint_auth_method, created_at)
     VALUES ($1, 'https://id.example.com/', 'openid', 'mas', 'client_secret_basic', now())`,
    [ulidToUUID(PROVIDER)],
  );
  // A role that can only read: if check tried to write anything, it would fail.
  const role = `ro_${synapse.name.slice(-10)}`;
  for (const db of [synapse, mas]) {
    await db.client.query(`DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role} LOGIN PASSWORD 'ro-password'; END IF; END $$`);
    await db.client.query(`GRANT CONNECT ON DATABASE "${db.name}" TO ${role}; GRANT USAGE ON SCHEMA public TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
  }
  const ro = (db: TestDatabase) => {
    const u = new URL(db.url);
    u.username = role;
    u.password = 'ro-password';
    return u.toString();
  };
  readonlyUrl = { synapse: ro(synapse), mas: ro(mas) };
});

afterAll(async () => {
  await synapse?.drop();
  await mas?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('syn2mas check', () => {
  it('reports the fixture homeserver: no errors, its warnings, a summary; exit 11', async () => {
    const r = await run(['syn2mas', 'check', '--json', ...files('ok', synapseYaml(), masYaml())]);
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
    const first = JSON.parse((await run(['syn2mas', 'check', '--json', ...files('acc', synapseYaml(), masYaml())])).stdout);
    const warnings = [...new Set(first.findings.filter((f: { severity: string }) => f.severity === 'warning').map((f: { code: string }) => f.code))] as string[];
    const r = await run(['syn2mas', 'check', '--json', '--accept', warnings.join(','), ...files('acc', synapseYaml(), masYaml())]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, exitCode: 0, accepted: warnings });
  });

  it('exits 10 on errors, listing errors before warnings before the summary', async () => {
    const r = await run(['syn2mas', 'check', ...files('err', synapseYaml({ allow_guest_access: true }), masYaml({ matrix: { homeserver: 'other.example', secret: SHARED_SECRET } }))]);
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
    const r = await run(['syn2mas', 'check', ...files('targets', synapseYaml(), masYaml())]);
    expect(r.stderr.split('\n')[0]).toMatch(new RegExp(`^→ Synapse database ${synapse.name} on 127\\.0\\.0\\.1:\\d+ as postgres`));
    const all = r.stdout + r.stderr + (await run(['syn2mas', 'check', '--json', ...files('targets', synapseYaml(), masYaml())])).stdout;
    for (const secret of [new URL(synapse.url).password, SHARED_SECRET, 'oidc-client-secret', 'mas-client-secret', 'syt_', 'syr_', '$2b$']) {
      expect(all).not.toContain(secret);
    }
  });

  it('runs with a role that can only read both databases', async () => {
    const r = await run(['syn2mas', 'check', '--json', ...files('ro', synapseYaml({}, readonlyUrl.synapse), masYaml({}, readonlyUrl.mas))]);
    expect(r.stderr).not.toContain('error:');
    expect([10, 11, 0]).toContain(r.code);
    expect(JSON.parse(r.stdout).findings.some((f: { code: string }) => f.code === 'I_SUMMARY')).toBe(true);
  });

  it('exits 1 with a clear message when a database cannot be reached', async () => {
    const r = await run(['syn2mas', 'check', ...files('down', synapseYaml(), masYaml({}, 'postgresql://mas@127.0.0.1:1/mas'))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('connecting to the MAS database mas on 127.0.0.1:1 as mas');
    expect(r.stderr).toContain('hint:');
  });

  it('refuses to accept an error code, and an unknown code (exit 2)', async () => {
    const args = files('acc2', synapseYaml(), masYaml());
    expect((await run(['syn2mas', 'check', '--accept', 'E_MAS_NOT_EMPTY', ...args])).code).toBe(2);
    expect((await run(['syn2mas', 'check', '--accept', 'W_NOT_A_CODE', ...args])).stderr).toContain('no such warning code');
  });

  it('uses an explicit --upstream-provider-mapping, and rejects a malformed one', async () => {
    const unmapped = masYaml({
      upstream_oauth2: { providers: [{ id: PROVIDER, issuer: 'https://id.example.com/', client_id: 'mas', client_secret: 'x', token_endpoint_auth_method: 'client_secret_basic' }] },
    });
    const without = JSON.parse((await run(['syn2mas', 'check', '--json', ...files('map', synapseYaml(), unmapped)])).stdout);
    expect(without.findings.map((f: { code: string }) => f.code)).toContain('E_MAS_PROVIDER_MISSING');
    const withFlag = JSON.parse(
      (await run(['syn2mas', 'check', '--json', '--upstream-provider-mapping', `oidc-raasu:${PROVIDER}`, ...files('map', synapseYaml(), unmapped)])).stdout,
    );
    expect(withFlag.findings.map((f: { code: string }) => f.code)).not.toContain('E_MAS_PROVIDER_MISSING');
    expect((await run(['syn2mas', 'check', '--upstream-provider-mapping', 'oidc-raasu', ...files('map', synapseYaml(), unmapped)])).code).toBe(2);
  });
});
