// `mas-tool manage ...` over the MAS admin API, as an operator with an admin client in the MAS config
// runs it: the default backend, the same commands and outcomes as on the database, MAS's own jobs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { run } from '../helpers/cli.js';
import { startFakeMasAdmin, type FakeMasAdmin } from '../helpers/fake-mas-admin.js';

let fake: FakeMasAdmin;
let dir: string;
let config: string[];

function writeConfig(name: string, overrides: Record<string, unknown> = {}): string[] {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      http: { public_base: fake.url, listeners: [{ name: 'web', resources: [{ name: 'discovery' }, { name: 'oauth' }, { name: 'adminapi' }], binds: [{ address: '[::]:8080' }] }] },
      // Nothing listens on port 1: as from an operator's laptop, where matrix.endpoint is internal.
      matrix: { homeserver: 'example.com', endpoint: 'http://127.0.0.1:1/', secret: 'matrix-shared-secret-value' },
      clients: [{ client_id: fake.client.clientId, client_auth_method: fake.client.authMethod, client_secret: fake.client.secret }],
      policy: { data: { admin_clients: [fake.client.clientId] } },
      ...overrides,
    }),
  );
  return ['-c', file];
}

beforeAll(async () => {
  fake = await startFakeMasAdmin();
  dir = mkdtempSync(join(tmpdir(), 'mas-tool-manage-api-'));
  config = writeConfig('mas');
  fake.addUser('alice');
  fake.addUser('bob', { admin: true });
  for (let i = 0; i < 23; i++) fake.addUser(`admin${String(i).padStart(2, '0')}`, { admin: true });
});

afterAll(async () => {
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('manage over the admin API', () => {
  it('is the default when the MAS config has an admin client; lock goes through POST /users/{id}/lock', async () => {
    const r = await run(['manage', 'lock', '@alice:example.com', ...config, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, backend: 'api', items: [{ subject: 'alice', status: 'changed' }] });
    const alice = fake.userByName('alice')!;
    expect(alice.lockedAt).not.toBeNull();
    expect(fake.apiCalls()).toContain(`POST /users/${alice.id}/lock`);
    expect(fake.jobs).toContainEqual(expect.objectContaining({ name: 'provision-user', userId: alice.id }));
    const again = await run(['manage', 'lock', 'alice', ...config]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/unchanged/);
  });

  it('lists every admin across pages, with policy admin_users beside them', async () => {
    const cfg = writeConfig('policy', { policy: { data: { admin_clients: [fake.client.clientId], admin_users: ['alice'] } } });
    const r = await run(['manage', 'list-admins', ...cfg, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const admins = JSON.parse(r.stdout).listing.admins as Array<{ username: string; canRequestAdmin: boolean; inPolicyAdminUsers: boolean }>;
    expect(admins.filter((a) => a.canRequestAdmin)).toHaveLength(24);
    expect(admins.find((a) => a.username === 'alice')).toMatchObject({ canRequestAdmin: false, inPolicyAdminUsers: true });
  });

  it('register-user creates the user and sets the password through MAS, which judges it', async () => {
    const r = await run(['manage', 'register-user', 'nina', '--password-stdin', '--email', 'nina@example.com', '--admin', ...config], { stdin: 'a long and unguessable passphrase\n' });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const nina = fake.userByName('nina')!;
    expect(nina.admin).toBe(true);
    expect(nina.passwords).toEqual(['a long and unguessable passphrase']);
    expect([...fake.emails.values()].filter((e) => e.userId === nina.id).map((e) => e.email)).toEqual(['nina@example.com']);
    expect(r.stdout + r.stderr).not.toContain('unguessable');
  });

  it('register-user judges the password before creating anything, so no half-made user is left', async () => {
    const r = await run(['manage', 'register-user', 'pia', '--password-stdin', ...config], { stdin: 'pia12345\n' });
    expect(r.code).toBe(10);
    expect(r.stdout).toMatch(/too weak/);
    expect(fake.userByName('pia')).toBeUndefined();
  });

  it('set-password relays MAS refusing a weak password, with what to do', async () => {
    fake.settings.weakPasswords.add('just-weak-for-mas-1');
    const r = await run(['manage', 'set-password', 'alice', '--password-stdin', ...config], { stdin: 'just-weak-for-mas-1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Password is too weak/);
    expect(r.stderr).toMatch(/--ignore-complexity/);
    expect(r.stderr).not.toContain('just-weak-for-mas-1');
    expect(fake.userByName('alice')!.passwords).toEqual([]);
  });

  it('a name the homeserver reserves is refused by MAS, and said so', async () => {
    fake.settings.reserved.add('oscar');
    const r = await run(['manage', 'register-user', 'oscar', ...config]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/reserved by the homeserver/);
    expect(fake.userByName('oscar')).toBeUndefined();
  });

  it('an unknown user gets the closest username and exit 10', async () => {
    const r = await run(['manage', 'set-admin', 'alicee', ...config]);
    expect(r.code).toBe(10);
    expect(r.stdout).toMatch(/closest: alice/);
  });

  it('kill-sessions finishes every active session', async () => {
    const bob = fake.userByName('bob')!;
    fake.addSession('compat', bob.id);
    fake.addSession('oauth2', bob.id);
    fake.addSession('user', bob.id, true);
    const r = await run(['manage', 'kill-sessions', 'bob', ...config, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).items[0].details).toEqual({ compat: 1, oauth2: 1, browser: 0 });
    expect([...fake.sessions.values()].filter((s) => s.userId === bob.id && s.finishedAt === null)).toEqual([]);
  });

  it('says how to allow the client when MAS refuses it the admin scope, without the secret', async () => {
    fake.adminClients.delete(fake.client.clientId);
    try {
      const r = await run(['manage', 'lock', 'bob', ...config]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/admin_clients/);
      expect(r.stderr).not.toContain(fake.client.secret);
    } finally {
      fake.adminClients.add(fake.client.clientId);
    }
  });

  it('refuses --via api without an admin client, and says what to add', async () => {
    const cfg = writeConfig('noclient', { clients: [], policy: { data: {} } });
    const r = await run(['manage', 'lock', 'bob', ...cfg, '--via', 'api']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/policy.data.admin_clients/);
  });
});
