// One rule for a user MAS does not have, in every manage command: a failed item with the closest
// usernames, exit 10, nothing written (show-user, which has no item, fails with
// MAS_TOOL_USER_NOT_FOUND and the same exit code). And set-admin on an account that cannot log in
// says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/db-snapshot.js';
import { startFakeSynapseMas, type FakeSynapseMas } from '../helpers/fake-synapse-mas.js';
import { SHARED_SECRET, createSyn2masEnv, type Syn2masEnv } from '../helpers/syn2mas-env.js';

let env: Syn2masEnv;
let synapse: FakeSynapseMas;
let mas: string[];

const manage = (args: string[], stdin?: string) => run(['manage', ...args, ...mas, '--via', 'db', '--json'], stdin === undefined ? {} : { stdin });

beforeAll(async () => {
  env = await createSyn2masEnv();
  synapse = await startFakeSynapseMas(SHARED_SECRET);
  const both = env.args('unknown', { mas: { matrix: { homeserver: 'example.com', endpoint: synapse.url, secret: SHARED_SECRET } } });
  mas = both.slice(0, 2);
  const migrate = await run(['syn2mas', 'migrate', ...both]);
  expect(migrate.code, migrate.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await synapse?.close();
  await env?.drop();
});

describe('an unknown user', () => {
  const cases: Array<[string, string[], string?]> = [
    ['lock', ['lock', 'alcie']],
    ['set-password', ['set-password', 'alcie', '--password-stdin'], 'correct horse battery staple 42\n'],
    ['kill-sessions', ['kill-sessions', 'alcie']],
    ['issue-compat-token', ['issue-compat-token', 'alcie']],
  ];
  for (const [command, args, stdin] of cases) {
    it(`${command}: a failed item with the closest usernames, exit 10, nothing written`, async () => {
      const before = await snapshotDatabase(env.mas.client);
      const r = await manage(args, stdin);
      expect(r.code).toBe(10);
      const doc = JSON.parse(r.stdout);
      expect(doc).toMatchObject({ ok: false, exitCode: 10, command, items: [{ subject: 'alcie', status: 'failed', message: expect.stringMatching(/^no user alcie in MAS \(closest: alice/) }] });
      expect(doc).not.toHaveProperty('token');
      expect(await snapshotDatabase(env.mas.client)).toEqual(before);
    });
  }

  it('show-user: MAS_TOOL_USER_NOT_FOUND with the closest usernames, exit 10', async () => {
    const r = await manage(['show-user', 'alcie']);
    expect(r.code).toBe(10);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'MAS_TOOL_USER_NOT_FOUND', message: expect.stringMatching(/^No user alcie in MAS \(closest: alice/), hint: expect.any(String) } });
  });
});

describe('set-admin on an account that cannot log in', () => {
  it('is done, with a warning naming the state and how to undo it (deactivated carol, locked dave)', async () => {
    const r = await manage(['set-admin', 'carol', 'dave', 'alice']);
    expect(r.code).toBe(0);
    const items = JSON.parse(r.stdout).items as Array<{ subject: string; status: string; warning?: string }>;
    expect(items.map((i) => [i.subject, i.status, i.warning])).toEqual([
      ['carol', 'changed', 'the account is deactivated: it cannot log in, nor use admin rights, until reactivated (mas-tool manage reactivate carol)'],
      ['dave', 'changed', 'the account is locked: it cannot log in, nor use admin rights, until unlocked (mas-tool manage unlock dave)'],
      ['alice', 'changed', undefined],
    ]);
    const human = await run(['manage', 'set-admin', 'carol', ...mas, '--via', 'db']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^unchanged carol: already allowed to request admin warning: the account is deactivated/m);
  });
});
