// `mas-tool manage ... --via db` end to end, as an operator runs it after `syn2mas migrate`: a real
// MAS database migrated from our Synapse fixture, a local Synapse answering /_synapse/mas/, and the
// rows and queue_jobs each command leaves behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verify as argon2Verify } from '@node-rs/argon2';
import { uuidToULID } from 'ulid';
import { run } from '../helpers/cli.js';
import { PROVIDER_ULID, SHARED_SECRET, createSyn2masEnv, type Syn2masEnv } from '../helpers/syn2mas-env.js';
import { startFakeSynapseMas, type FakeSynapseMas } from '../helpers/fake-synapse-mas.js';

let env: Syn2masEnv;
let synapse: FakeSynapseMas;
let mas: string[];
let both: string[];

interface Job {
  queue_name: string;
  payload: Record<string, unknown>;
  metadata: Record<string, unknown>;
  status: string;
}

async function userId(username: string): Promise<string> {
  const r = await env.mas.client.query<{ user_id: string }>('SELECT user_id FROM users WHERE username = $1', [username]);
  return uuidToULID(r.rows[0]!.user_id);
}

/** Jobs inserted since the mark, oldest first. */
async function jobsSince(mark: Date): Promise<Job[]> {
  const r = await env.mas.client.query<Job>('SELECT queue_name, payload, metadata, status FROM queue_jobs WHERE created_at >= $1 ORDER BY created_at, queue_job_id', [mark]);
  return r.rows;
}

async function now(): Promise<Date> {
  return (await env.mas.client.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]!.now;
}

const manage = (...args: string[]) => run(['manage', ...args, ...mas, '--via', 'db']);

beforeAll(async () => {
  env = await createSyn2masEnv();
  synapse = await startFakeSynapseMas(SHARED_SECRET);
  const matrix = { homeserver: 'example.com', endpoint: synapse.url, secret: SHARED_SECRET };
  const policy = { data: { admin_users: ['erin'] } };
  both = env.args('manage', { mas: { matrix, policy } });
  mas = both.slice(0, 2);
  const migrate = await run(['syn2mas', 'migrate', ...both]);
  expect(migrate.code, migrate.stderr).toBe(0);
  synapse.users.add('alice');
  synapse.users.add('bob');
  synapse.exclusive.push(/^whatsapp_/);
}, 120_000);

afterAll(async () => {
  await synapse?.close();
  await env?.drop();
});

describe('manage register-user --via db', () => {
  it('creates the user, password, emails, upstream link and admin flag, and one provision-user job', async () => {
    const mark = await now();
    const r = await run(
      ['manage', 'register-user', 'heidi', '--password-stdin', '--email', 'heidi@example.com', '--admin', '--display-name', 'Heidi H', '--upstream', `oidc-raasu:heidi-sub`, ...mas, '--via', 'db', '--json'],
      { stdin: 'correct horse battery staple 42\n' },
    );
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: true, command: 'register-user', backend: 'db', dryRun: false, summary: { changed: 1, failed: 0 } });
    expect(r.stdout).not.toContain('correct horse');

    const id = await userId('heidi');
    const user = (await env.mas.client.query('SELECT can_request_admin, locked_at FROM users WHERE username = $1', ['heidi'])).rows[0];
    expect(user).toEqual({ can_request_admin: true, locked_at: null });
    const pw = (await env.mas.client.query('SELECT hashed_password, version FROM user_passwords WHERE user_id = (SELECT user_id FROM users WHERE username = $1)', ['heidi'])).rows;
    expect(pw).toHaveLength(1);
    // The test config's highest scheme is version 2, argon2id without a pepper.
    expect(pw[0].version).toBe(2);
    expect(await argon2Verify(pw[0].hashed_password, 'correct horse battery staple 42')).toBe(true);
    const emails = (await env.mas.client.query('SELECT email FROM user_emails WHERE user_id = (SELECT user_id FROM users WHERE username = $1)', ['heidi'])).rows;
    expect(emails).toEqual([{ email: 'heidi@example.com' }]);
    const links = (await env.mas.client.query('SELECT upstream_oauth_provider_id, subject FROM upstream_oauth_links WHERE user_id = (SELECT user_id FROM users WHERE username = $1)', ['heidi'])).rows;
    expect(links.map((l) => [uuidToULID(l.upstream_oauth_provider_id), l.subject])).toEqual([[PROVIDER_ULID, 'heidi-sub']]);
    expect(await jobsSince(mark)).toEqual([{ queue_name: 'provision-user', payload: { user_id: id, set_display_name: 'Heidi H' }, metadata: {}, status: 'available' }]);
    expect(synapse.requests.some((q) => q.path === '/_synapse/mas/is_localpart_available')).toBe(true);
  });

  it('refuses a taken name with exit 10 and writes nothing; --if-not-exists makes it unchanged, exit 0', async () => {
    const mark = await now();
    const taken = await manage('register-user', 'heidi');
    expect(taken.code).toBe(10);
    expect(taken.stdout).toMatch(/taken in MAS/);
    const again = await manage('register-user', 'heidi', '--if-not-exists');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/unchanged/);
    expect(await jobsSince(mark)).toEqual([]);
  });

  it('tells an application service namespace and a Synapse-only account apart, and writes nothing', async () => {
    const appservice = await manage('register-user', 'whatsapp_999');
    expect(appservice.code).toBe(10);
    expect(appservice.stdout).toMatch(/application service/);
    expect(appservice.stdout).toMatch(/Synapse's admin API/);
    synapse.users.add('ivan');
    const synapseOnly = await manage('register-user', 'ivan');
    expect(synapseOnly.code).toBe(10);
    expect(synapseOnly.stdout).toMatch(/already exists on the homeserver but not in MAS/);
    expect(synapseOnly.stdout).toMatch(/--skip-homeserver-check/);
    const adopted = await manage('register-user', 'ivan', '--skip-homeserver-check');
    expect(adopted.code, adopted.stdout).toBe(0);
    expect((await env.mas.client.query("SELECT 1 FROM users WHERE username = 'ivan'")).rowCount).toBe(1);
  });

  it('says the homeserver could not be asked (not that it said no) when it is unreachable', async () => {
    synapse.faults.disabled = true;
    try {
      const r = await manage('register-user', 'judy');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/Could not ask the homeserver/);
      expect(r.stderr).toMatch(/not a "no"/);
      expect(r.stderr).not.toContain(SHARED_SECRET);
    } finally {
      synapse.faults.disabled = false;
    }
    expect((await env.mas.client.query("SELECT 1 FROM users WHERE username = 'judy'")).rowCount).toBe(0);
  });

  it('explains the username rules', async () => {
    const r = await manage('register-user', 'Judy');
    expect(r.code).toBe(10);
    expect(r.stdout).toMatch(/Judy/);
  });

  it('registers many from a CSV file in one go, or none when a line is wrong', async () => {
    const { writeFileSync } = await import('node:fs');
    const file = `${env.dir}/users.csv`;
    writeFileSync(file, 'username,email,admin\nkim,kim@example.com,yes\nleo,,\n');
    const mark = await now();
    const r = await manage('register-user', '--from-file', file);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await jobsSince(mark)).map((j) => j.queue_name)).toEqual(['provision-user', 'provision-user']);
    expect((await env.mas.client.query("SELECT can_request_admin FROM users WHERE username = 'kim'")).rows).toEqual([{ can_request_admin: true }]);

    writeFileSync(file, 'username\nmia\nheidi\n');
    const bad = await manage('register-user', '--from-file', file);
    expect(bad.code).toBe(10);
    expect(bad.stdout).toMatch(/Nothing was changed/);
    expect((await env.mas.client.query("SELECT 1 FROM users WHERE username = 'mia'")).rowCount).toBe(0);
  });
});

describe('manage lock / unlock / deactivate / reactivate --via db', () => {
  it('locks once with a provision-user job, then reports unchanged; one user named twice is done once', async () => {
    const mark = await now();
    const r = await manage('lock', 'alice', '@alice:example.com');
    expect(r.code, r.stderr).toBe(0);
    const id = await userId('alice');
    expect(await jobsSince(mark)).toEqual([{ queue_name: 'provision-user', payload: { user_id: id, set_display_name: null }, metadata: {}, status: 'available' }]);
    const again = await manage('lock', 'alice', '--json');
    expect(JSON.parse(again.stdout).items).toEqual([expect.objectContaining({ subject: 'alice', status: 'unchanged' })]);
  });

  it('lock --deactivate schedules deactivate-user without erasing; unlock --reactivate unlocks and reactivates', async () => {
    let mark = await now();
    const id = await userId('frank');
    expect((await manage('lock', 'frank', '--deactivate')).code).toBe(0);
    expect(await jobsSince(mark)).toEqual([
      { queue_name: 'provision-user', payload: { user_id: id, set_display_name: null }, metadata: {}, status: 'available' },
      { queue_name: 'deactivate-user', payload: { user_id: id, hs_erase: false }, metadata: {}, status: 'available' },
    ]);
    mark = await now();
    expect((await manage('unlock', 'frank', '--reactivate')).code).toBe(0);
    const row = (await env.mas.client.query('SELECT locked_at FROM users WHERE user_id = (SELECT user_id FROM users WHERE username = $1)', ['frank'])).rows[0];
    expect(row.locked_at).toBeNull();
    expect((await jobsSince(mark)).map((j) => [j.queue_name, j.payload])).toEqual(
      expect.arrayContaining([
        ['reactivate-user', { user_id: id }],
        ['provision-user', { user_id: id, set_display_name: null }],
      ]),
    );
  });

  it('deactivate --erase asks the worker to erase on the homeserver', async () => {
    const mark = await now();
    const id = await userId('grace');
    expect((await manage('deactivate', 'grace', '--erase')).code).toBe(0);
    expect(await jobsSince(mark)).toEqual([{ queue_name: 'deactivate-user', payload: { user_id: id, hs_erase: true }, metadata: {}, status: 'available' }]);
    expect((await manage('deactivate', 'grace')).stdout).toMatch(/already deactivated/);
  });

  it('an unknown user fails the whole batch, with the closest username, and changes nothing', async () => {
    const mark = await now();
    const r = await manage('lock', 'bob', 'alica', '--json');
    expect(r.code).toBe(10);
    const doc = JSON.parse(r.stdout);
    expect(doc.aborted).toBe('1 of 2 items failed');
    expect(doc.items.find((i: { subject: string }) => i.subject === 'alica').message).toMatch(/closest: alice/);
    expect(await jobsSince(mark)).toEqual([]);
    expect((await env.mas.client.query("SELECT locked_at FROM users WHERE username = 'bob'")).rows[0].locked_at).toBeNull();
  });

  it("says an application service's user belongs to Synapse's admin API", async () => {
    const r = await manage('lock', 'whatsapp_447700900456');
    expect(r.code).toBe(10);
    expect(r.stdout).toMatch(/application service/);
    expect(r.stdout).toMatch(/Synapse's admin API/);
  });

  it('--dry-run says what would change and writes nothing', async () => {
    const mark = await now();
    const r = await run(['manage', '--dry-run', 'lock', 'bob', ...mas, '--via', 'db']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/would/);
    expect(r.stdout).toMatch(/Dry run/);
    expect(await jobsSince(mark)).toEqual([]);
  });
});

describe('manage emails --via db', () => {
  it('add-email adds a confirmed address and schedules provision-user; again is unchanged; another user holding it is refused', async () => {
    const mark = await now();
    const id = await userId('bob');
    expect((await manage('add-email', 'bob', 'bob.new@example.com')).code).toBe(0);
    expect(await jobsSince(mark)).toEqual([{ queue_name: 'provision-user', payload: { user_id: id, set_display_name: null }, metadata: {}, status: 'available' }]);
    expect((await manage('verify-email', 'bob', 'BOB.new@example.com')).stdout).toMatch(/already has this address/);
    const other = await manage('add-email', 'heidi', 'bob.new@example.com');
    expect(other.code).toBe(10);
    expect(other.stdout).toMatch(/already used by bob/);
  });

  it('add-email --from-file adds every address of a CSV in one batch, several per user with ";"', async () => {
    const { writeFileSync } = await import('node:fs');
    const file = `${env.dir}/emails.csv`;
    writeFileSync(file, 'user,email\r\nkim,"kim.work@example.com; kim.home@example.com"\r\n@leo:example.com,leo@example.com\r\n');
    const mark = await now();
    const r = await manage('add-email', '--from-file', file);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/3 changed/);
    const rows = (await env.mas.client.query("SELECT u.username, e.email FROM user_emails e JOIN users u USING (user_id) WHERE u.username IN ('kim', 'leo') ORDER BY e.email")).rows;
    // kim@example.com came with the registration above.
    expect(rows).toHaveLength(4);
    expect(rows).toEqual(
      expect.arrayContaining([
        { username: 'kim', email: 'kim.home@example.com' },
        { username: 'kim', email: 'kim.work@example.com' },
        { username: 'leo', email: 'leo@example.com' },
      ]),
    );
    // One provision-user per user whose addresses changed.
    expect((await jobsSince(mark)).map((j) => j.queue_name)).toEqual(['provision-user', 'provision-user']);
  });

  it('remove-email removes it and schedules provision-user', async () => {
    const mark = await now();
    expect((await manage('remove-email', 'bob', 'bob.new@example.com')).code).toBe(0);
    expect((await env.mas.client.query("SELECT 1 FROM user_emails WHERE email = 'bob.new@example.com'")).rowCount).toBe(0);
    expect((await jobsSince(mark)).map((j) => j.queue_name)).toEqual(['provision-user']);
  });
});

describe('manage admins --via db', () => {
  it('set-admin from a file, then list-admins shows MAS, policy and Synapse side by side', async () => {
    const { writeFileSync } = await import('node:fs');
    const file = `${env.dir}/admins.txt`;
    writeFileSync(file, '# admins\nalice\n@kim:example.com\n');
    const r = await manage('set-admin', '--from-file', file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 changed, 1 unchanged/);
    const list = await run(['manage', 'list-admins', ...both, '--via', 'db', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const listing = JSON.parse(list.stdout).listing;
    const row = (name: string) => listing.admins.find((a: { username: string }) => a.username === name);
    expect(row('alice')).toMatchObject({ canRequestAdmin: true, synapseAdmin: false });
    expect(row('erin')).toMatchObject({ inPolicyAdminUsers: true });
    expect(row('bob')).toMatchObject({ synapseAdmin: true });
  });

  it('unset-admin takes a MAS user id as well', async () => {
    const id = await userId('kim');
    const r = await manage('unset-admin', id);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/kim: may no longer request admin/);
    expect((await env.mas.client.query("SELECT can_request_admin FROM users WHERE username = 'kim'")).rows[0].can_request_admin).toBe(false);
  });

  it('restore-admins gives can_request_admin back to Synapse admins that lost it', async () => {
    await env.mas.client.query("UPDATE users SET can_request_admin = false WHERE username = 'bob'");
    const list = await run(['manage', 'list-admins', ...both, '--via', 'db']);
    expect(list.stdout).toMatch(/Admins in Synapse who cannot request admin in MAS: bob\./);
    expect(list.stdout).toMatch(/restore-admins/);
    const dry = await run(['manage', 'restore-admins', ...both, '--via', 'db', '--dry-run']);
    expect(dry.code).toBe(0);
    expect((await env.mas.client.query("SELECT can_request_admin FROM users WHERE username = 'bob'")).rows[0].can_request_admin).toBe(false);
    const r = await run(['manage', 'restore-admins', ...both, '--via', 'db']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/@bob:example.com: may request admin rights again/);
    expect((await env.mas.client.query("SELECT can_request_admin FROM users WHERE username = 'bob'")).rows[0].can_request_admin).toBe(true);
  });
});

describe('manage sessions and tokens --via db', () => {
  it('kill-sessions --dry-run counts, then ends them and schedules sync-devices', async () => {
    const active = async () => (await env.mas.client.query("SELECT count(*)::int AS n FROM compat_sessions WHERE finished_at IS NULL AND user_id = (SELECT user_id FROM users WHERE username = 'bob')")).rows[0].n;
    expect(await active()).toBeGreaterThan(0);
    const dry = await run(['manage', 'kill-sessions', 'bob', ...mas, '--via', 'db', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(await active()).toBeGreaterThan(0);
    const mark = await now();
    expect((await manage('kill-sessions', 'bob')).code).toBe(0);
    expect(await active()).toBe(0);
    expect((await jobsSince(mark)).map((j) => [j.queue_name, j.payload])).toEqual([['sync-devices', { user_id: await userId('bob') }]]);
    expect((await manage('kill-sessions', 'bob')).stdout).toMatch(/no active sessions/);
  });

  it('issue-compat-token creates the device, prints only the token on stdout and never on stderr', async () => {
    const r = await manage('issue-compat-token', 'kim', '--device-id', 'SCRIPTDEV');
    expect(r.code, r.stderr).toBe(0);
    const token = r.stdout.trim();
    expect(token).toMatch(/^mct_[A-Za-z0-9]{30}_[A-Za-z0-9]{6}$/);
    expect(r.stderr).not.toContain(token);
    expect(synapse.devices).toContainEqual({ localpart: 'kim', deviceId: 'SCRIPTDEV' });
    const row = (await env.mas.client.query('SELECT s.device_id, s.is_synapse_admin, t.expires_at FROM compat_access_tokens t JOIN compat_sessions s USING (compat_session_id) WHERE t.access_token = $1', [token])).rows;
    expect(row).toEqual([{ device_id: 'SCRIPTDEV', is_synapse_admin: false, expires_at: null }]);
  });

  it('issue-compat-token --json puts the token in the document, once, and a Synapse admin token is marked so', async () => {
    const r = await manage('issue-compat-token', 'kim', '--synapse-admin', '--yes-i-want-to-grant-synapse-admin-privileges', '--json');
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.token).toMatch(/^mct_/);
    expect(r.stderr).not.toContain(doc.token);
    const row = (await env.mas.client.query('SELECT s.is_synapse_admin FROM compat_access_tokens t JOIN compat_sessions s USING (compat_session_id) WHERE t.access_token = $1', [doc.token])).rows;
    expect(row).toEqual([{ is_synapse_admin: true }]);
  });

  it('issue-compat-token issues nothing when the homeserver does not create the device', async () => {
    synapse.faults.deviceFails = true;
    try {
      const mark = await now();
      const r = await manage('issue-compat-token', 'kim', '--device-id', 'FAILDEV');
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/did not create the device/);
      expect((await env.mas.client.query("SELECT 1 FROM compat_sessions WHERE device_id = 'FAILDEV'")).rowCount).toBe(0);
      expect((await jobsSince(mark)).map((j) => j.queue_name)).toEqual(['sync-devices']);
    } finally {
      synapse.faults.deviceFails = false;
    }
  });

  it('issue-compat-token --synapse-admin needs the long confirmation flag', async () => {
    const r = await manage('issue-compat-token', 'kim', '--synapse-admin');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--yes-i-want-to-grant-synapse-admin-privileges/);
  });

  it('issue-compat-token refuses --via api: the admin API cannot create compatibility sessions', async () => {
    const r = await run(['manage', 'issue-compat-token', 'kim', ...mas, '--via', 'api']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--via db/);
  });

  it('provision-all-users schedules one provision-user per user (a dry run counts the same)', async () => {
    const users = (await env.mas.client.query('SELECT count(*)::int AS n FROM users')).rows[0].n;
    const dry = await run(['manage', 'provision-all-users', ...mas, '--dry-run', '--json']);
    expect(JSON.parse(dry.stdout).items[0].details.users).toBe(users);
    const mark = await now();
    expect((await manage('provision-all-users')).code).toBe(0);
    expect((await jobsSince(mark)).filter((j) => j.queue_name === 'provision-user')).toHaveLength(users);
  });
});

describe('manage upstream links --via db', () => {
  it('link-upstream links, reports unchanged the second time, refuses a subject of another user; unlink removes it', async () => {
    expect((await manage('link-upstream', 'alice', PROVIDER_ULID, 'alice-ldap')).code).toBe(0);
    expect((await manage('link-upstream', 'alice', 'oidc-raasu', 'alice-ldap')).stdout).toMatch(/already linked/);
    const taken = await manage('link-upstream', 'bob', PROVIDER_ULID, 'alice-ldap');
    expect(taken.code).toBe(10);
    expect(taken.stdout).toMatch(/already linked to alice/);
    expect((await manage('unlink-upstream', 'alice', 'oidc-raasu')).code).toBe(0);
    expect((await env.mas.client.query("SELECT 1 FROM upstream_oauth_links WHERE subject = 'alice-ldap'")).rowCount).toBe(0);
  });
});
