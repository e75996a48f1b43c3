// `syn2mas verify` against real databases: the fixture homeserver migrated with `syn2mas migrate`,
// then MAS tampered with (errors) or used (info). Each test gets its own pair of databases.
import { afterEach, describe, expect, it } from 'vitest';
import { loadSyn2masContext, type Syn2masContext } from '../../src/syn2mas/context.js';
import { compareKeys, compareText, runVerify, VERIFY_CODES, type VerifyReport } from '../../src/syn2mas/verify.js';
import { run } from '../helpers/cli.js';
import { createTestDatabase } from '../helpers/db.js';
import { createSyn2masEnv, PROVIDER_ULID, type Syn2masEnv } from '../helpers/syn2mas-env.js';
import type { TemplateName } from '../helpers/templates.js';

const MAPPING = new Map([['oidc-raasu', PROVIDER_ULID]]);

/** What the migration writes for the fixture homeserver. */
const FIXTURE_COUNTS = {
  users: 8, // alice bob carol dave 100 erin frank grace (appservice users are skipped)
  passwords: 5, // alice bob dave frank grace
  emails: 1,
  unsupportedThreepids: 1,
  upstreamLinks: 1,
  sessions: 7, // ADEVICE BOBLAPTOP ERINPHONE DAVEDESKTOP FRANKDEVICE GRACEDEVICE + bob's deviceless token
  accessTokens: 5, // non-refreshable: alice, bob, bob deviceless, dave, erin
  refreshTokens: 3, // frank's newer pair, grace's two pairs
  registrationTokens: 3, // the usable ones: 2 of 5 used, unlimited, one use pending
} as const;

const envs: Syn2masEnv[] = [];
afterEach(async () => {
  for (const env of envs.splice(0)) await env.drop();
});

function contextOf(args: string[]): Syn2masContext {
  const at = (flag: string) => args[args.indexOf(flag) + 1] as string;
  return loadSyn2masContext({ masConfigPaths: [at('-c')], synapseConfigPaths: [at('--synapse-config')], env: {} });
}

async function migrated(options: { masTemplate?: TemplateName } = {}): Promise<{ env: Syn2masEnv; ctx: Syn2masContext }> {
  const env = await createSyn2masEnv(options);
  envs.push(env);
  const args = env.args('x');
  const r = await run(['syn2mas', 'migrate', ...args]);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return { env, ctx: contextOf(args) };
}

/** Verifies, and checks what must hold for every report: no secret in it, codes known, exit code right. */
async function verify(ctx: Syn2masContext, mapping: ReadonlyMap<string, string> = MAPPING): Promise<VerifyReport> {
  const report = await runVerify(ctx, { providerMapping: mapping });
  const json = JSON.stringify(report);
  for (const secret of ['syt_', 'syr_', 'mct_', 'mcr_', '$2b$', '$argon2']) expect(json).not.toContain(secret);
  for (const f of report.findings) expect(VERIFY_CODES).toContain(f.code);
  expect(report.findings.at(-1)?.code).toBe('I_VERIFY_SUMMARY');
  expect(report.exitCode).toBe(report.findings.some((f) => f.severity === 'error') ? 10 : 0);
  return report;
}

const errors = (r: VerifyReport) => r.findings.filter((f) => f.severity === 'error').map((f) => f.code);
const infos = (r: VerifyReport) => r.findings.filter((f) => f.severity === 'info').map((f) => f.code);
const get = (r: VerifyReport, code: string) => {
  const f = r.findings.find((x) => x.code === code);
  if (f === undefined) throw new Error(`no ${code} in ${r.findings.map((x) => x.code).join(', ')}`);
  return f;
};
const clean = (n: number) => ({ expected: n, found: n, missing: 0, unexpected: 0, different: 0 });

describe('syn2mas verify', () => {
  it('finds a fresh migration consistent: exit 0, only the summary', async () => {
    const { ctx } = await migrated();
    const report = await verify(ctx);
    expect(report.exitCode).toBe(0);
    expect(report.findings.map((f) => f.code)).toEqual(['I_VERIFY_SUMMARY']);
    for (const [entity, n] of Object.entries(FIXTURE_COUNTS)) expect(report.counts[entity], entity).toEqual(clean(n));
    expect(get(report, 'I_VERIFY_SUMMARY').details?.counts).toEqual(report.counts);
  });

  it('reports E_VERIFY_NOT_MIGRATED when MAS has no users', async () => {
    const env = await createSyn2masEnv();
    envs.push(env);
    const report = await verify(contextOf(env.args('x')));
    expect(report.exitCode).toBe(10);
    expect(errors(report)).toEqual(['E_VERIFY_NOT_MIGRATED']);
  });

  it('works on a pre-v1.10 MAS schema, where emails must be confirmed', async () => {
    const { env, ctx } = await migrated({ masTemplate: 'mas-pre-1.10' });
    const before = await verify(ctx);
    expect(before.findings.map((f) => f.code)).toEqual(['I_VERIFY_SUMMARY']);
    for (const [entity, n] of Object.entries(FIXTURE_COUNTS)) expect(before.counts[entity], entity).toEqual(clean(n));

    await env.mas.client.query(`UPDATE user_emails SET confirmed_at = NULL`);
    const after = await verify(ctx);
    expect(errors(after)).toEqual(['E_VERIFY_EMAILS']);
    expect(after.counts.emails).toEqual({ ...clean(1), different: 1 });
    expect(get(after, 'E_VERIFY_EMAILS').details).toMatchObject({ count: 1, different: 1, examples: ['@alice:example.com <alice@example.com>: not confirmed in MAS'] });
  });

  it('never writes: it runs with roles that can only read', async () => {
    const { env } = await migrated();
    const role = `ro_${env.mas.name.slice(-10)}`;
    const urls: Record<string, string> = {};
    for (const [side, db] of [['synapse', env.synapse], ['mas', env.mas]] as const) {
      await db.client.query(`DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role} LOGIN PASSWORD 'ro-password'; END IF; END $$`);
      await db.client.query(`GRANT CONNECT ON DATABASE "${db.name}" TO ${role}; GRANT USAGE ON SCHEMA public TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
      const u = new URL(db.url);
      u.username = role;
      u.password = 'ro-password';
      urls[side] = u.toString();
    }
    try {
      const report = await verify(contextOf(env.args('ro', { masUrl: urls.mas, synapseUrl: urls.synapse })));
      expect(report.findings.map((f) => f.code)).toEqual(['I_VERIFY_SUMMARY']);
    } finally {
      for (const db of [env.synapse, env.mas]) await db.client.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${role}; REVOKE ALL ON SCHEMA public FROM ${role}; REVOKE ALL ON DATABASE "${db.name}" FROM ${role}`);
      await env.mas.client.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    }
  });

  describe('reports tampering as errors (exit 10)', () => {
    it('a deleted email: E_VERIFY_EMAILS, missing 1', async () => {
      const { env, ctx } = await migrated();
      await env.mas.client.query(`DELETE FROM user_emails WHERE email = 'alice@example.com'`);
      const report = await verify(ctx);
      expect(report.exitCode).toBe(10);
      expect(errors(report)).toEqual(['E_VERIFY_EMAILS']);
      expect(report.counts.emails).toEqual({ expected: 1, found: 0, missing: 1, unexpected: 0, different: 0 });
      expect(get(report, 'E_VERIFY_EMAILS').details).toMatchObject({ count: 1, missing: 1, examples: ['@alice:example.com <alice@example.com>'] });
    });

    it('a flipped can_request_admin: E_VERIFY_USER_FLAGS, different 1', async () => {
      const { env, ctx } = await migrated();
      await env.mas.client.query(`UPDATE users SET can_request_admin = false WHERE username = 'bob'`);
      const report = await verify(ctx);
      expect(errors(report)).toEqual(['E_VERIFY_USER_FLAGS']);
      expect(report.counts.users).toEqual({ ...clean(8), different: 1 });
      expect(get(report, 'E_VERIFY_USER_FLAGS').details).toMatchObject({
        count: 1,
        examples: ['@bob:example.com: can_request_admin is false in MAS, Synapse admin is true'],
      });
    });

    it('a changed password hash: E_VERIFY_PASSWORDS, different 1, and no hash in the report', async () => {
      const { env, ctx } = await migrated();
      await env.mas.client.query(
        `UPDATE user_passwords SET hashed_password = '$2b$12$' || repeat('A', 53) WHERE user_id = (SELECT user_id FROM users WHERE username = 'alice')`,
      );
      const report = await verify(ctx);
      expect(errors(report)).toEqual(['E_VERIFY_PASSWORDS']);
      expect(report.counts.passwords).toEqual({ ...clean(5), different: 1 });
      expect(get(report, 'E_VERIFY_PASSWORDS').details).toMatchObject({ count: 1, different: 1 });
      expect(JSON.stringify(report)).not.toContain('AAAAAAAA');
    });

    it('a deleted version 1 password row: E_VERIFY_PASSWORDS, missing 1', async () => {
      const { env, ctx } = await migrated();
      await env.mas.client.query(`DELETE FROM user_passwords WHERE user_id = (SELECT user_id FROM users WHERE username = 'dave')`);
      const report = await verify(ctx);
      expect(errors(report)).toEqual(['E_VERIFY_PASSWORDS']);
      expect(report.counts.passwords).toEqual({ expected: 5, found: 4, missing: 1, unexpected: 0, different: 0 });
    });

    it('a deleted compat session (with its token): E_VERIFY_SESSIONS and E_VERIFY_ACCESS_TOKENS, missing 1 each', async () => {
      const { env, ctx } = await migrated();
      const session = `(SELECT compat_session_id FROM compat_sessions WHERE device_id = 'ERINPHONE')`;
      await env.mas.client.query(`DELETE FROM compat_access_tokens WHERE compat_session_id = ${session}`);
      await env.mas.client.query(`DELETE FROM compat_sessions WHERE device_id = 'ERINPHONE'`);
      const report = await verify(ctx);
      expect(errors(report)).toEqual(['E_VERIFY_SESSIONS', 'E_VERIFY_ACCESS_TOKENS']);
      expect(report.counts.sessions).toEqual({ expected: 7, found: 6, missing: 1, unexpected: 0, different: 0 });
      expect(report.counts.accessTokens).toEqual({ expected: 5, found: 4, missing: 1, unexpected: 0, different: 0 });
      expect(get(report, 'E_VERIFY_SESSIONS').details).toMatchObject({ missing: 1, examples: ['@erin:example.com device ERINPHONE'] });
      expect(get(report, 'E_VERIFY_ACCESS_TOKENS').details).toMatchObject({ missing: 1, examples: ['an access token of @erin:example.com device ERINPHONE'] });
    });

    it('a deleted access token: E_VERIFY_ACCESS_TOKENS, missing 1, named without the token', async () => {
      const { env, ctx } = await migrated();
      await env.mas.client.query(
        `DELETE FROM compat_access_tokens WHERE compat_session_id = (SELECT compat_session_id FROM compat_sessions WHERE device_id = 'DAVEDESKTOP')`,
      );
      const report = await verify(ctx);
      expect(errors(report)).toEqual(['E_VERIFY_ACCESS_TOKENS']);
      expect(report.counts.accessTokens).toEqual({ expected: 5, found: 4, missing: 1, unexpected: 0, different: 0 });
      expect(get(report, 'E_VERIFY_ACCESS_TOKENS').details).toMatchObject({ examples: ['an access token of @dave:example.com device DAVEDESKTOP'] });
    });

    it('a deleted refresh token: E_VERIFY_REFRESH_TOKENS, missing 1 (its access token then shows as unexpected)', async () => {
      const { env, ctx } = await migrated();
      await env.mas.client.query(
        `DELETE FROM compat_refresh_tokens WHERE compat_session_id = (SELECT compat_session_id FROM compat_sessions WHERE device_id = 'FRANKDEVICE')`,
      );
      const report = await verify(ctx);
      expect(errors(report)).toEqual(['E_VERIFY_ACCESS_TOKENS', 'E_VERIFY_REFRESH_TOKENS']);
      expect(report.counts.refreshTokens).toEqual({ expected: 3, found: 2, missing: 1, unexpected: 0, different: 0 });
      expect(report.counts.accessTokens).toEqual({ expected: 5, found: 6, missing: 0, unexpected: 1, different: 0 });
    });

    it('an unexpected user from before the migration: E_VERIFY_USERS_UNEXPECTED, unexpected 1', async () => {
      const { env, ctx } = await migrated();
      await env.mas.client.query(`INSERT INTO users (user_id, username, created_at) VALUES (gen_random_uuid(), 'mallory', '2020-01-01T00:00:00Z')`);
      const report = await verify(ctx);
      expect(errors(report)).toEqual(['E_VERIFY_USERS_UNEXPECTED']);
      expect(report.counts.users).toEqual({ expected: 8, found: 9, missing: 0, unexpected: 1, different: 0 });
      expect(get(report, 'E_VERIFY_USERS_UNEXPECTED').details).toMatchObject({ examples: ['@mallory:example.com'] });
    });

    it('a user missing from MAS: E_VERIFY_USERS_MISSING', async () => {
      const { env, ctx } = await migrated();
      // carol (deactivated) has no password, session or token: only her user row goes.
      await env.mas.client.query(`DELETE FROM users WHERE username = 'carol'`);
      const report = await verify(ctx);
      expect(errors(report)).toEqual(['E_VERIFY_USERS_MISSING']);
      expect(report.counts.users).toEqual({ expected: 8, found: 7, missing: 1, unexpected: 0, different: 0 });
    });

    it("a changed expires_at: E_VERIFY_ACCESS_TOKENS, different 1", async () => {
      const { env, ctx } = await migrated();
      await env.mas.client.query(
        `UPDATE compat_access_tokens SET expires_at = '2030-01-01T00:00:00Z'
          WHERE compat_session_id = (SELECT compat_session_id FROM compat_sessions WHERE device_id = 'ADEVICE')`,
      );
      const report = await verify(ctx);
      expect(errors(report)).toEqual(['E_VERIFY_ACCESS_TOKENS']);
      expect(report.counts.accessTokens).toEqual({ ...clean(5), different: 1 });
      expect(get(report, 'E_VERIFY_ACCESS_TOKENS').details).toMatchObject({
        different: 1,
        examples: ['an access token of @alice:example.com device ADEVICE: expires 2030-01-01T00:00:00.000Z in MAS, never in Synapse'],
      });
    });

    it('a session flipped to admin: E_VERIFY_SESSIONS, different 1', async () => {
      const { env, ctx } = await migrated();
      await env.mas.client.query(`UPDATE compat_sessions SET is_synapse_admin = true WHERE device_id = 'ADEVICE'`);
      const report = await verify(ctx);
      expect(errors(report)).toEqual(['E_VERIFY_SESSIONS']);
      expect(report.counts.sessions).toEqual({ ...clean(7), different: 1 });
    });

    it('an unexpected compat session from before the migration: E_VERIFY_SESSIONS, unexpected 1', async () => {
      const { env, ctx } = await migrated();
      await env.mas.client.query(
        `INSERT INTO compat_sessions (compat_session_id, user_id, device_id, created_at)
         SELECT gen_random_uuid(), user_id, 'OLDDEVICE', '2019-01-01T00:00:00Z' FROM users WHERE username = 'alice'`,
      );
      const report = await verify(ctx);
      expect(errors(report)).toEqual(['E_VERIFY_SESSIONS']);
      expect(report.counts.sessions).toEqual({ expected: 7, found: 8, missing: 0, unexpected: 1, different: 0 });
    });

    it('links of an IdP left out of the mapping: E_VERIFY_LINKS (in MAS only), I_VERIFY_LINKS_UNMAPPED', async () => {
      const { ctx } = await migrated();
      const report = await verify(ctx, new Map());
      expect(errors(report)).toEqual(['E_VERIFY_LINKS']);
      expect(report.counts.upstreamLinks).toEqual({ expected: 0, found: 1, missing: 0, unexpected: 1, different: 0 });
      expect(get(report, 'I_VERIFY_LINKS_UNMAPPED').details).toMatchObject({ count: 1, examples: ['@erin:example.com at oidc-raasu'] });
    });

    it('a link moved to another user: E_VERIFY_LINKS, different 1', async () => {
      const { env, ctx } = await migrated();
      await env.mas.client.query(`UPDATE upstream_oauth_links SET user_id = (SELECT user_id FROM users WHERE username = 'alice')`);
      const report = await verify(ctx);
      expect(errors(report)).toEqual(['E_VERIFY_LINKS']);
      expect(get(report, 'E_VERIFY_LINKS').details).toMatchObject({
        different: 1,
        examples: ['subject 871.syn30 at oidc-raasu: linked to @alice:example.com in MAS, @erin:example.com in Synapse'],
      });
    });
  });

  describe('reports MAS use since the migration as info (exit 0)', () => {
    it('a new compat session with its token', async () => {
      const { env, ctx } = await migrated();
      await env.mas.client.query(
        `WITH s AS (
           INSERT INTO compat_sessions (compat_session_id, user_id, device_id, created_at)
           SELECT gen_random_uuid(), user_id, 'NEWDEVICE', now() FROM users WHERE username = 'alice' RETURNING compat_session_id)
         INSERT INTO compat_access_tokens (compat_access_token_id, compat_session_id, access_token, created_at)
         SELECT gen_random_uuid(), compat_session_id, 'mct_newtokenvalue_000000', now() FROM s`,
      );
      const report = await verify(ctx);
      expect(report.exitCode).toBe(0);
      expect(errors(report)).toEqual([]);
      expect(infos(report)).toEqual(['I_VERIFY_MAS_IN_USE', 'I_VERIFY_NEW_SESSIONS', 'I_VERIFY_NEW_TOKENS', 'I_VERIFY_SUMMARY']);
      expect(get(report, 'I_VERIFY_NEW_SESSIONS').details).toMatchObject({ count: 1, examples: ['@alice:example.com device NEWDEVICE'] });
      expect(report.counts.sessions).toEqual({ expected: 7, found: 8, missing: 0, unexpected: 1, different: 0 });
    });

    it('a migrated session finished (logged out) in MAS', async () => {
      const { env, ctx } = await migrated();
      await env.mas.client.query(`UPDATE compat_sessions SET finished_at = now() WHERE device_id = 'BOBLAPTOP'`);
      const report = await verify(ctx);
      expect(report.exitCode).toBe(0);
      expect(infos(report)).toEqual(['I_VERIFY_MAS_IN_USE', 'I_VERIFY_FINISHED_SESSIONS', 'I_VERIFY_SUMMARY']);
      expect(get(report, 'I_VERIFY_FINISHED_SESSIONS').details).toMatchObject({ count: 1 });
      expect(report.counts.sessions).toEqual(clean(7));
    });

    it('a version 2 password row (rehashed on login)', async () => {
      const { env, ctx } = await migrated();
      await env.mas.client.query(
        `INSERT INTO user_passwords (user_password_id, user_id, hashed_password, created_at, version, upgraded_from_id)
         SELECT gen_random_uuid(), p.user_id, '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', now(), 2, p.user_password_id
           FROM user_passwords p JOIN users u USING (user_id) WHERE u.username = 'alice'`,
      );
      const report = await verify(ctx);
      expect(report.exitCode).toBe(0);
      expect(infos(report)).toEqual(['I_VERIFY_MAS_IN_USE', 'I_VERIFY_PASSWORDS_CHANGED', 'I_VERIFY_SUMMARY']);
      expect(get(report, 'I_VERIFY_PASSWORDS_CHANGED').details).toMatchObject({ count: 1 });
      expect(report.counts.passwords).toEqual(clean(5));
    });

    it('a user registered in MAS, with a password, an email and a browser session', async () => {
      const { env, ctx } = await migrated();
      await env.mas.client.query(`
        INSERT INTO users (user_id, username, created_at) VALUES ('0198a000-0000-7000-8000-000000000001', 'zoe', now());
        INSERT INTO user_passwords (user_password_id, user_id, hashed_password, created_at, version)
          VALUES (gen_random_uuid(), '0198a000-0000-7000-8000-000000000001', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', now(), 2);
        INSERT INTO user_emails (user_email_id, user_id, email, created_at) VALUES (gen_random_uuid(), '0198a000-0000-7000-8000-000000000001', 'zoe@example.com', now());
        INSERT INTO user_sessions (user_session_id, user_id, created_at) VALUES (gen_random_uuid(), '0198a000-0000-7000-8000-000000000001', now());`);
      const report = await verify(ctx);
      expect(report.exitCode).toBe(0);
      expect(infos(report)).toEqual(['I_VERIFY_MAS_IN_USE', 'I_VERIFY_NEW_USERS', 'I_VERIFY_PASSWORDS_CHANGED', 'I_VERIFY_NEW_EMAILS', 'I_VERIFY_SUMMARY']);
      expect(get(report, 'I_VERIFY_NEW_USERS').details).toMatchObject({ count: 1, examples: ['@zoe:example.com'] });
      expect(get(report, 'I_VERIFY_MAS_IN_USE').details).toMatchObject({ browserSessions: 1, oauth2Sessions: 0 });
      expect(report.counts.users).toEqual({ expected: 8, found: 9, missing: 0, unexpected: 1, different: 0 });
    });

    it('a migrated refresh token used in MAS: consumed, its access token expired, a new pair issued', async () => {
      const { env, ctx } = await migrated();
      const session = `(SELECT compat_session_id FROM compat_sessions WHERE device_id = 'GRACEDEVICE')`;
      // What MAS's compat refresh does: a new pair, the used refresh token consumed, its access token expired.
      await env.mas.client.query(`
        WITH a AS (
          INSERT INTO compat_access_tokens (compat_access_token_id, compat_session_id, access_token, created_at, expires_at)
          VALUES (gen_random_uuid(), ${session}, 'mct_refreshedtoken_0000', now(), now() + interval '5 minutes') RETURNING compat_access_token_id)
        INSERT INTO compat_refresh_tokens (compat_refresh_token_id, compat_session_id, compat_access_token_id, refresh_token, created_at)
        SELECT gen_random_uuid(), ${session}, compat_access_token_id, 'mcr_refreshedtoken_0000', now() FROM a;
        UPDATE compat_refresh_tokens SET consumed_at = now() WHERE compat_session_id = ${session} AND refresh_token LIKE 'syr_%';
        UPDATE compat_access_tokens SET expires_at = now()
         WHERE compat_access_token_id = (SELECT compat_access_token_id FROM compat_refresh_tokens WHERE compat_session_id = ${session} AND refresh_token LIKE 'syr_%' LIMIT 1);`);
      const report = await verify(ctx);
      expect(report.exitCode).toBe(0);
      expect(infos(report)).toEqual(['I_VERIFY_MAS_IN_USE', 'I_VERIFY_NEW_TOKENS', 'I_VERIFY_CONSUMED_REFRESH_TOKENS', 'I_VERIFY_SUMMARY']);
      expect(get(report, 'I_VERIFY_CONSUMED_REFRESH_TOKENS').details).toMatchObject({ count: 2 });
      expect(report.counts.refreshTokens).toEqual({ expected: 3, found: 4, missing: 0, unexpected: 1, different: 1 });
    });

    it('a user deactivated in MAS: the rows deactivation removed or finished are info', async () => {
      const { env, ctx } = await migrated();
      await env.mas.client.query(`
        UPDATE users SET deactivated_at = now() WHERE username = 'alice';
        DELETE FROM user_emails WHERE user_id = (SELECT user_id FROM users WHERE username = 'alice');
        UPDATE compat_sessions SET finished_at = now() WHERE user_id = (SELECT user_id FROM users WHERE username = 'alice');`);
      const report = await verify(ctx);
      expect(report.exitCode).toBe(0);
      expect(infos(report)).toEqual([
        'I_VERIFY_MAS_IN_USE',
        'I_VERIFY_USER_STATE_CHANGED',
        'I_VERIFY_DEACTIVATED_LATER',
        'I_VERIFY_FINISHED_SESSIONS',
        'I_VERIFY_SUMMARY',
      ]);
      expect(get(report, 'I_VERIFY_DEACTIVATED_LATER').details).toMatchObject({ count: 1, missing: 1, examples: ['@alice:example.com <alice@example.com>'] });
      expect(get(report, 'I_VERIFY_USER_STATE_CHANGED').details?.examples).toEqual([expect.stringMatching(/^@alice:example\.com: deactivated in MAS \(since /)]);
    });
  });

  it('sorts text as PostgreSQL\'s "C" collation does', async () => {
    const db = await createTestDatabase('empty');
    try {
      const words = ['a', 'B', 'b', '', 'ä', 'z', '\u{1F600}', '\uFFFD', '\uE000', 'aa', 'a b', 'a-b', '_x', '~', 'Z', '日本', 'é', 'e\u0301'];
      const { rows } = await db.client.query<{ w: string }>(`SELECT w FROM unnest($1::text[]) w ORDER BY w COLLATE "C"`, [words]);
      expect([...words].sort(compareText)).toEqual(rows.map((r) => r.w));
      expect(compareKeys([null, 'a'], ['', 'a'])).toBeLessThan(0);
      expect(compareKeys(['x', 'b'], ['x', 'a'])).toBeGreaterThan(0);
    } finally {
      await db.drop();
    }
  });
});
