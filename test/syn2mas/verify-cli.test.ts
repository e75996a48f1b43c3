// `mas-tool syn2mas verify` through the CLI: exit 0 right after a migration, 10 when MAS differs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';
import { createSyn2masEnv, type Syn2masEnv } from '../helpers/syn2mas-env.js';

let e: Syn2masEnv;
beforeAll(async () => {
  e = await createSyn2masEnv();
  expect((await run(['syn2mas', 'migrate', ...e.args('m')])).code).toBe(0);
});
afterAll(async () => {
  await e?.drop();
});

describe('syn2mas verify', () => {
  it('finds MAS consistent right after the migration: exit 0', async () => {
    const r = await run(['syn2mas', 'verify', ...e.args('v')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('MAS is consistent with Synapse.');
    const json = JSON.parse((await run(['syn2mas', 'verify', '--json', ...e.args('v')])).stdout);
    expect(json).toMatchObject({ ok: true, exitCode: 0 });
    expect(json.counts.users).toMatchObject({ expected: 8, found: 8, missing: 0, unexpected: 0, different: 0 });
  });

  it('reports a lost admin flag and a lost email with exit 10, and never prints a token or hash', async () => {
    await e.mas.client.query(`UPDATE users SET can_request_admin = false WHERE username = 'bob'`);
    await e.mas.client.query(`DELETE FROM user_emails`);
    const r = await run(['syn2mas', 'verify', '--json', ...e.args('v2')]);
    expect(r.code).toBe(10);
    const codes = JSON.parse(r.stdout).findings.map((f: { code: string }) => f.code);
    expect(codes).toEqual(expect.arrayContaining(['E_VERIFY_USER_FLAGS', 'E_VERIFY_EMAILS']));
    for (const secret of ['syt_', 'syr_', '$2b$']) expect(r.stdout + r.stderr).not.toContain(secret);
  });
});
