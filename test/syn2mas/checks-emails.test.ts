// Email addresses as old Synapse versions kept them: empty, with whitespace around them, not of the
// form local@domain (MAS refuses these: E_INVALID_EMAILS, which stops a migration), the same address
// twice on one user in two cases (MAS then finds neither: W_CASE_DUPLICATE_EMAILS), capital letters
// alone (MAS looks addresses up ignoring case: I_MIXED_CASE_EMAILS, information). And verify compares
// addresses the way MAS looks them up.
import { afterAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/report/finding.js';
import { checkSynapseData } from '../../src/syn2mas/checks/synapse-data.js';
import { run } from '../helpers/cli.js';
import { createTestDatabase, loadFixture, type TestDatabase } from '../helpers/db.js';
import { snapshotDatabase } from '../helpers/db-snapshot.js';
import { createSyn2masEnv, type Syn2masEnv } from '../helpers/syn2mas-env.js';

const envs: Syn2masEnv[] = [];
afterAll(async () => {
  await Promise.all(envs.map((e) => e.drop()));
});

async function emailFindings(db: TestDatabase): Promise<Record<string, Finding>> {
  await db.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const { findings } = await checkSynapseData(db.client, { serverName: 'example.com' });
    return Object.fromEntries(findings.filter((f) => /EMAIL/.test(f.code)).map((f) => [f.code, f]));
  } finally {
    await db.client.query('COMMIT');
  }
}

describe('the email checks', () => {
  it('report what MAS refuses as an error, a case duplicate on one user as a warning, capitals alone as information', async () => {
    const db = await createTestDatabase('synapse');
    try {
      await loadFixture(db.client, 'check-clean.sql');
      await loadFixture(db.client, 'check-emails.sql');
      const found = await emailFindings(db);
      expect(Object.keys(found).sort()).toEqual(['E_INVALID_EMAILS', 'I_MIXED_CASE_EMAILS', 'W_CASE_DUPLICATE_EMAILS']);

      const invalid = found.E_INVALID_EMAILS!;
      expect(invalid.severity).toBe('error');
      expect(invalid.message).toBe(
        '4 email addresses of users to migrate are not one MAS accepts (1 empty, 1 not of the form local@domain, 2 with whitespace around it); ' +
          'migrated verbatim, they would receive no mail and a login or recovery by the real address would not find them.',
      );
      expect(invalid.details?.byProblem).toEqual({ empty: 1, malformed: 1, whitespace: 2 });
      expect(invalid.details?.examples).toEqual([
        { userId: '@carol:example.com', address: '""', problem: 'empty' },
        { userId: '@carol:example.com', address: '"carol at example.org"', problem: 'malformed' },
        { userId: '@alice:example.com', address: '" alice@example.org"', problem: 'whitespace' },
        { userId: '@bob:example.com', address: '" bob@example.net "', problem: 'whitespace' },
      ]);

      expect(found.W_CASE_DUPLICATE_EMAILS).toMatchObject({
        severity: 'warning',
        details: { addresses: 1, users: 1, examples: [{ userId: '@alice:example.com', addresses: ['Alice@Example.org', 'alice@example.org'] }] },
      });
      expect(found.I_MIXED_CASE_EMAILS).toMatchObject({
        severity: 'info',
        details: { count: 2, examples: [{ userId: '@alice:example.com', address: 'Alice@Example.org' }, { userId: '@erin.o=k/x+y-z_1:example.com', address: 'Erin.Two@Example.org' }] },
      });

      // The SQL the findings give does what they say, and leaves what needs a person.
      await db.client.query(String(invalid.details?.sql));
      await db.client.query(String(found.W_CASE_DUPLICATE_EMAILS!.details?.sql));
      const after = await emailFindings(db);
      expect(Object.keys(after).sort()).toEqual(['E_INVALID_EMAILS', 'I_MIXED_CASE_EMAILS']);
      expect(after.E_INVALID_EMAILS!.details?.byProblem).toEqual({ malformed: 1 });
      const { rows } = await db.client.query<{ user_id: string; address: string }>(
        `SELECT user_id, address FROM user_threepids WHERE user_id IN ('@alice:example.com', '@bob:example.com') ORDER BY 1, 2`,
      );
      expect(rows).toEqual([
        { user_id: '@alice:example.com', address: 'Alice@Example.org' },
        { user_id: '@bob:example.com', address: 'bob@example.net' },
        { user_id: '@bob:example.com', address: 'bob@example.org' },
      ]);
    } finally {
      await db.drop();
    }
  });

  it('stop a migration before anything is written, with the SQL to paste', async () => {
    const e = await createSyn2masEnv();
    envs.push(e);
    await e.synapse.client.query(`INSERT INTO user_threepids (user_id, medium, address, validated_at, added_at) VALUES ('@bob:example.com', 'email', 'bob@example.com ', 1, 1)`);
    const before = await snapshotDatabase(e.mas.client);
    const r = await run(['syn2mas', 'migrate', ...e.args('invalid')]);
    expect(r.code).toBe(10);
    expect(r.stdout).toContain('E_INVALID_EMAILS  1 email address of users to migrate is not one MAS accepts (1 with whitespace around it)');
    expect(r.stdout).toContain('examples: @bob:example.com "bob@example.com " whitespace');
    expect(r.stdout).toMatch(/sql:\n {8}BEGIN;\n/);
    expect(await snapshotDatabase(e.mas.client)).toEqual(before);
  });
});

describe('verify', () => {
  it('compares addresses the way MAS looks them up: ignoring case, and as a person types them', async () => {
    const e = await createSyn2masEnv();
    envs.push(e);
    await e.synapse.client.query(`INSERT INTO user_threepids (user_id, medium, address, validated_at, added_at) VALUES ('@bob:example.com', 'email', 'Bob@Example.COM', 1, 1)`);
    const migrated = await run(['syn2mas', 'migrate', ...e.args('mixed')]);
    expect(migrated.code).toBe(0);
    expect(migrated.stderr + migrated.stdout).not.toContain('E_INVALID_EMAILS');
    expect((await run(['syn2mas', 'verify', ...e.args('verify')])).code).toBe(0);

    // MAS finds the address whatever its case: lower-casing it in MAS changes nothing for users.
    await e.mas.client.query('UPDATE user_emails SET email = lower(email)');
    const lowered = await run(['syn2mas', 'verify', '--json', ...e.args('verify-lowered')]);
    expect(lowered.code).toBe(0);
    expect(JSON.parse(lowered.stdout).counts.emails).toMatchObject({ missing: 0, unexpected: 0, different: 0 });

    // Whitespace stored with it: MAS would not find bob@example.com any more.
    await e.mas.client.query(`UPDATE user_emails SET email = email || ' ' WHERE email = 'bob@example.com'`);
    const spaced = await run(['syn2mas', 'verify', '--json', ...e.args('verify-spaced')]);
    expect(spaced.code).toBe(10);
    const doc = JSON.parse(spaced.stdout);
    expect(doc.counts.emails).toMatchObject({ missing: 1, unexpected: 1 });
    expect(JSON.stringify(doc.findings.find((f: { code: string }) => f.code === 'E_VERIFY_EMAILS')?.details)).toContain('@bob:example.com <bob@example.com');
  });
});
