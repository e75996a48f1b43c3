// Synapse's registration tokens through `syn2mas check`, `migrate` and `verify`, end to end on the
// embedded PostgreSQL: what is counted and carried, a MAS schema without the table (before MAS
// 0.17), and how verify judges tokens after MAS has been in use. The staged runs are in
// staged.test.ts, the rows a full migration writes in migrate.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/db-snapshot.js';
import { createSyn2masEnv, type Syn2masEnv } from '../helpers/syn2mas-env.js';

const TOKENS = ['Fr1endsInv1te-26', 'AllUsedUp.3of3', 'Expired~2020', 'Unl1mited_forever', 'LastSeat-pending', 'ZeroUsesAllowed'];

interface Finding {
  code: string;
  severity: string;
  message: string;
  fix?: string;
  details?: Record<string, unknown>;
}

const envs: Syn2masEnv[] = [];
afterAll(async () => {
  await Promise.all(envs.map((e) => e.drop()));
});

async function env(options?: Parameters<typeof createSyn2masEnv>[0]): Promise<Syn2masEnv> {
  const e = await createSyn2masEnv(options);
  envs.push(e);
  return e;
}

/** A MAS database as v0.16.0 has it: no user_registration_tokens (MAS added it in 20250602212100). */
async function masBeforeRegistrationTokens(): Promise<Syn2masEnv> {
  const e = await env({ masTemplate: 'mas-pre-1.10' });
  await e.mas.client.query(`DROP TABLE user_registration_tokens CASCADE; DELETE FROM _sqlx_migrations WHERE version > 20250425113717`);
  return e;
}

/** Runs a command with --json; no registration token may appear in anything it prints. */
async function json<T = { exitCode: number; findings: Finding[] }>(args: string[]): Promise<{ code: number; doc: T; stdout: string }> {
  const r = await run([...args, '--json']);
  for (const token of TOKENS) expect(r.stdout + r.stderr).not.toContain(token);
  return { code: r.code, doc: JSON.parse(r.stdout) as T, stdout: r.stdout };
}

const codes = (findings: Finding[]): string[] => findings.map((f) => f.code);
const find = (findings: Finding[], code: string): Finding => {
  const f = findings.find((x) => x.code === code);
  if (f === undefined) throw new Error(`no ${code} in ${codes(findings).join(', ')}`);
  return f;
};

describe('syn2mas check', () => {
  it('plans the usable tokens for migration and counts the others by reason', async () => {
    const e = await env();
    const { code, doc } = await json(['syn2mas', 'check', ...e.args('main')]);
    expect(code).toBe(11); // the fixture's other warnings
    expect(codes(doc.findings)).not.toContain('W_REGISTRATION_TOKENS_NOT_CARRIED');
    const summary = find(doc.findings, 'I_SUMMARY');
    expect((summary.details?.plan as Record<string, unknown>).registrationTokens).toEqual({ migrate: 3, skipped: { expired: 1, used_up: 2 } });
    expect(summary.message).toContain('and 3 registration tokens would be migrated');
    const human = await run(['syn2mas', 'check', ...e.args('main')]);
    expect(human.stdout).toMatch(/registration tokens\s+3 {2}3 \(expired 1, used up 2\)/);
  });

  it('W_REGISTRATION_TOKENS_NOT_CARRIED: a MAS schema without the table, with usable tokens in Synapse', async () => {
    const e = await masBeforeRegistrationTokens();
    const { code, doc } = await json(['syn2mas', 'check', ...e.args('main')]);
    expect(code).toBe(11);
    // An older MAS, not an unsupported one.
    expect(codes(doc.findings)).not.toContain('E_MAS_SCHEMA_UNSUPPORTED');
    const w = find(doc.findings, 'W_REGISTRATION_TOKENS_NOT_CARRIED');
    expect(w).toMatchObject({ severity: 'warning', details: { usable: 3, expired: 1, usedUp: 2, masMigration: '20250425113717' } });
    expect(w.message).toBe(
      '3 Synapse registration tokens that can still be used are not carried: this MAS schema (v0.16.0) has no user_registration_tokens table ' +
        '(MAS has registration tokens since 0.17). Invitations that rely on them stop working after the migration.',
    );
    expect(w.fix).toContain('upgrade MAS to 0.17 or later');
    expect((find(doc.findings, 'I_SUMMARY').details?.plan as Record<string, unknown>).registrationTokens).toEqual({
      migrate: 0,
      skipped: { expired: 1, used_up: 2, no_mas_table: 3 },
    });
    // Acknowledged with the fixture's other warnings, the check passes.
    const others = codes(doc.findings.filter((f) => f.severity === 'warning')).join(',');
    expect((await run(['syn2mas', 'check', '--accept', others, ...e.args('main')])).code).toBe(0);
  });

  it('no warning on such a schema when no token can still be used', async () => {
    const e = await masBeforeRegistrationTokens();
    await e.synapse.client.query(`DELETE FROM registration_tokens WHERE token IN ('Fr1endsInv1te-26', 'Unl1mited_forever', 'LastSeat-pending')`);
    const { doc } = await json(['syn2mas', 'check', ...e.args('main')]);
    expect(codes(doc.findings)).not.toContain('W_REGISTRATION_TOKENS_NOT_CARRIED');
  });
});

describe('syn2mas migrate into a MAS schema without the table', () => {
  it('migrates everything else, counts the usable tokens as skipped (no_mas_table), and verify is content', async () => {
    const e = await masBeforeRegistrationTokens();
    const synapseBefore = await snapshotDatabase(e.synapse.client);
    const { code, doc } = await json<{ exitCode: number; findings: Finding[]; migration: { entities: Record<string, unknown> } }>(['syn2mas', 'migrate', ...e.args('main')]);
    expect(code).toBe(0);
    expect(codes(doc.findings)).toContain('W_REGISTRATION_TOKENS_NOT_CARRIED');
    expect(doc.migration.entities.registrationTokens).toEqual({ migrated: 0, skipped: { expired: 1, used_up: 2, no_mas_table: 3 } });
    expect(doc.migration.entities.users).toMatchObject({ migrated: 8 });
    expect(await snapshotDatabase(e.synapse.client)).toEqual(synapseBefore);
    const verify = await json<{ exitCode: number; findings: Finding[]; counts: Record<string, unknown> }>(['syn2mas', 'verify', ...e.args('main')]);
    expect(verify.code).toBe(0);
    expect(codes(verify.doc.findings)).toEqual(['I_VERIFY_SUMMARY']);
  });

  it('stages, refreshes and cuts over too, with no table for the tokens in the delta report', async () => {
    const e = await masBeforeRegistrationTokens();
    expect((await run(['syn2mas', 'migrate', '--stage', ...e.args('main')])).code).toBe(0);
    await e.synapse.client.query(`INSERT INTO registration_tokens (token, uses_allowed, pending, completed, expiry_time) VALUES ('MadeAfterStage', 1, 0, 0, NULL)`);
    const refresh = await json<{ delta: { tables: Record<string, unknown> } }>(['syn2mas', 'migrate', '--stage', ...e.args('main')]);
    expect(refresh.code).toBe(0);
    expect(Object.keys(refresh.doc.delta.tables)).not.toContain('user_registration_tokens');
    const cut = await json<{ delta: { mode: string } }>(['syn2mas', 'migrate', ...e.args('main')]);
    expect(cut.code).toBe(0);
    expect(cut.doc.delta.mode).toBe('cutover');
  });
});

describe('syn2mas verify', () => {
  type VerifyDoc = { exitCode: number; findings: Finding[]; counts: Record<string, Record<string, number>> };
  const clean = (n: number) => ({ expected: n, found: n, missing: 0, unexpected: 0, different: 0 });

  async function migrated(): Promise<Syn2masEnv> {
    const e = await env();
    expect((await run(['syn2mas', 'migrate', ...e.args('main')])).code).toBe(0);
    return e;
  }
  const verify = async (e: Syn2masEnv) => json<VerifyDoc>(['syn2mas', 'verify', ...e.args('main')]);

  it('errors: a token missing, another limit or expiry, fewer uses, a never-carried token in MAS (exit 10), never naming a token', async () => {
    const e = await migrated();
    await e.mas.client.query(`
      DELETE FROM user_registration_tokens WHERE token = 'Unl1mited_forever';
      UPDATE user_registration_tokens SET usage_limit = 50, expires_at = NULL, times_used = 1 WHERE token = 'Fr1endsInv1te-26';
      -- A used-up Synapse token that the migration must have left out, dated before the migration.
      INSERT INTO user_registration_tokens (user_registration_token_id, token, usage_limit, times_used, created_at)
      VALUES ('01890000-0000-0000-0000-0000000000aa', 'AllUsedUp.3of3', 3, 3, '2023-07-01T00:00:00Z')`);
    const { code, doc } = await verify(e);
    expect(code).toBe(10);
    expect(codes(doc.findings.filter((f) => f.severity === 'error'))).toEqual(['E_VERIFY_REGISTRATION_TOKENS']);
    expect(doc.counts.registrationTokens).toEqual({ expected: 3, found: 3, missing: 1, unexpected: 1, different: 1 });
    const f = find(doc.findings, 'E_VERIFY_REGISTRATION_TOKENS');
    expect(f.message).toBe('3 registration tokens differ between Synapse and MAS (1 missing in MAS, 1 in MAS only, 1 different).');
    expect(f.details?.examples).toEqual([
      'registration token 01H4000000000000000000005A: used up in Synapse, so never carried',
      expect.stringMatching(
        /^registration token [0-9A-Z]{26}: allows 50 uses in MAS, 5 uses in Synapse; expires never in MAS, 2100-01-01T00:00:00.000Z in Synapse; counts 1 use in MAS, 2 in Synapse$/,
      ),
      'a registration token with 7 of unlimited uses used, expiring never',
    ]);
  });

  it('info: tokens used or revoked in MAS since, a token made in MAS, a token expired since the migration (exit 0)', async () => {
    const e = await migrated();
    const expiredSince = Date.now() - 1000;
    await e.synapse.client.query(`UPDATE registration_tokens SET expiry_time = $1 WHERE token = 'Unl1mited_forever'`, [expiredSince]);
    await e.mas.client.query(`
      UPDATE user_registration_tokens SET times_used = times_used + 1, last_used_at = now() WHERE token = 'Fr1endsInv1te-26';
      UPDATE user_registration_tokens SET revoked_at = now() WHERE token = 'LastSeat-pending';
      UPDATE user_registration_tokens SET expires_at = to_timestamp(${expiredSince} / 1000.0) WHERE token = 'Unl1mited_forever'`);
    expect((await run(['manage', 'registration-token', 'issue', '--via', 'db', '--uses', '2', '--json', ...e.args('main').slice(0, 2)])).code).toBe(0);
    const { code, doc } = await verify(e);
    expect(code).toBe(0);
    expect(codes(doc.findings)).toEqual(['I_VERIFY_MAS_IN_USE', 'I_VERIFY_NEW_REGISTRATION_TOKENS', 'I_VERIFY_REGISTRATION_TOKENS_CHANGED', 'I_VERIFY_SUMMARY']);
    expect(find(doc.findings, 'I_VERIFY_REGISTRATION_TOKENS_CHANGED').message).toBe('2 migrated registration tokens were used or revoked in MAS since the migration.');
    expect(find(doc.findings, 'I_VERIFY_NEW_REGISTRATION_TOKENS').message).toBe('1 registration token was created in MAS after the migration.');
    // The token that expired since is still compared (it was usable when migrated): 3 expected.
    expect(doc.counts.registrationTokens).toEqual({ expected: 3, found: 4, missing: 0, unexpected: 1, different: 2 });

    // Had the migration run after it expired, MAS would not have it: that is fine too.
    await e.mas.client.query(`DELETE FROM user_registration_tokens WHERE token = 'Unl1mited_forever'`);
    const later = await verify(e);
    expect(later.code).toBe(0);
    expect(later.doc.counts.registrationTokens).toMatchObject({ expected: 2, missing: 0 });
  });

  it('a fresh migration is consistent, token for token', async () => {
    const e = await migrated();
    const { code, doc } = await verify(e);
    expect(code).toBe(0);
    expect(doc.counts.registrationTokens).toEqual(clean(3));
  });
});
