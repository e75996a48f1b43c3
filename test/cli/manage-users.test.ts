// `mas-tool manage list-users` and `show-user` as an operator runs them, on the MAS database and over
// the admin API with the same users: the filters, the table, the JSON fields, the limit, a user's
// addresses, links and sessions, and an unknown user.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulidToUUID } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { newUlid } from '../../src/manage/db/ids.js';
import { run } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startFakeMasAdmin, type FakeMasAdmin } from '../helpers/fake-mas-admin.js';

let db: TestDatabase;
let fake: FakeMasAdmin;
let dir: string;
const backends: Record<'db' | 'api', string[]> = { db: [], api: [] };

interface Seed {
  username: string;
  admin?: boolean;
  locked?: boolean;
  deactivated?: boolean;
  guest?: boolean;
  emails?: string[];
  compat?: number;
}

const SEEDS: Seed[] = [
  { username: 'alice', admin: true, emails: ['alice@example.com'], compat: 2 },
  { username: 'bob', locked: true, emails: ['bob@corp.example'] },
  { username: 'carol', deactivated: true },
  { username: 'guest1', guest: true },
  { username: 'erin', emails: ['erin@example.com', 'e@home.example'] },
];

const uuid = (id: string) => ulidToUUID(id).toLowerCase();

beforeAll(async () => {
  db = await createTestDatabase('mas');
  fake = await startFakeMasAdmin();
  dir = mkdtempSync(join(tmpdir(), 'mas-tool-manage-users-'));
  const provider = newUlid();
  await db.client.query(
    `INSERT INTO upstream_oauth_providers (upstream_oauth_provider_id, issuer, human_name, scope, client_id, token_endpoint_auth_method, created_at) VALUES ($1, 'https://id.example.com/', 'Corp SSO', 'openid', 'c', 'none', now())`,
    [uuid(provider)],
  );
  const fakeProvider = fake.addProvider({ humanName: 'Corp SSO' });
  for (const s of SEEDS) {
    const id = newUlid();
    const at = (flag: boolean | undefined) => (flag ? '2026-05-01T00:00:00.000Z' : null);
    await db.client.query('INSERT INTO users (user_id, username, created_at, locked_at, deactivated_at, can_request_admin, is_guest) VALUES ($1, $2, now(), $3, $4, $5, $6)', [
      uuid(id),
      s.username,
      at(s.locked),
      at(s.deactivated),
      s.admin ?? false,
      s.guest ?? false,
    ]);
    const f = fake.addUser(s.username, { admin: s.admin ?? false, lockedAt: at(s.locked), deactivatedAt: at(s.deactivated), legacyGuest: s.guest ?? false });
    for (const e of s.emails ?? []) {
      await db.client.query('INSERT INTO user_emails (user_email_id, user_id, email, created_at) VALUES ($1, $2, $3, now())', [uuid(newUlid()), uuid(id), e]);
      fake.addEmail(f.id, e);
    }
    for (let i = 0; i < (s.compat ?? 0); i++) {
      await db.client.query(
        `INSERT INTO compat_sessions (compat_session_id, user_id, device_id, created_at, last_active_at, last_active_ip, is_synapse_admin) VALUES ($1, $2, $3, now(), now(), '192.0.2.10', $4)`,
        [uuid(newUlid()), uuid(id), `DEVICE${i}`, i === 0],
      );
      fake.addSession('compat', f.id);
    }
    if (s.username === 'alice') {
      await db.client.query(`INSERT INTO upstream_oauth_links (upstream_oauth_link_id, upstream_oauth_provider_id, user_id, subject, human_account_name, created_at) VALUES ($1, $2, $3, 'alice-sub', 'alice@corp', now())`, [
        uuid(newUlid()),
        uuid(provider),
        uuid(id),
      ]);
      fake.addLink(fakeProvider.id, 'alice-sub', f.id, 'alice@corp');
    }
  }
  const dbConfig = join(dir, 'db.yaml');
  writeFileSync(dbConfig, stringify({ database: { uri: db.url }, matrix: { homeserver: 'example.com', endpoint: 'http://127.0.0.1:1/' }, policy: { data: { admin_users: ['erin'] } } }));
  const apiConfig = join(dir, 'api.yaml');
  writeFileSync(
    apiConfig,
    stringify({
      http: { public_base: fake.url, listeners: [{ name: 'web', resources: [{ name: 'discovery' }, { name: 'oauth' }, { name: 'adminapi' }], binds: [{ address: '[::]:8080' }] }] },
      matrix: { homeserver: 'example.com', endpoint: 'http://127.0.0.1:1/', secret: 'matrix-shared-secret-value' },
      clients: [{ client_id: fake.client.clientId, client_auth_method: fake.client.authMethod, client_secret: fake.client.secret }],
      policy: { data: { admin_clients: [fake.client.clientId], admin_users: ['erin'] } },
    }),
  );
  backends.db = ['-c', dbConfig, '--via', 'db'];
  backends.api = ['-c', apiConfig, '--via', 'api'];
});

afterAll(async () => {
  await fake?.close();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const manage = (via: 'db' | 'api', ...args: string[]) => run(['manage', ...args, ...backends[via]]);
const names = async (via: 'db' | 'api', ...args: string[]) => JSON.parse((await manage(via, 'list-users', ...args, '--json')).stdout).listing.users.map((u: { username: string }) => u.username);

describe.each(['db', 'api'] as const)('manage list-users and show-user --via %s', (via) => {
  it('lists every user oldest first with the JSON fields', async () => {
    const r = await manage(via, 'list-users', '--json');
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: true, command: 'list-users', backend: via, listing: { more: false, limit: 100 } });
    expect(doc.listing.users.map((u: { username: string }) => u.username)).toEqual(['alice', 'bob', 'carol', 'guest1', 'erin']);
    expect(doc.listing.users[0]).toMatchObject({ username: 'alice', admin: true, locked: false, deactivated: false, guest: false, emails: ['alice@example.com'], sessions: { compat: 2, oauth2: 0, browser: 0, total: 2 } });
    expect(doc.listing.users[0].createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(doc.listing.users[4].emails).toEqual(['e@home.example', 'erin@example.com']);
  });

  it('filters by --admin, --locked, --deactivated, --guest and --search (username or address)', async () => {
    expect(await names(via, '--admin')).toEqual(['alice']);
    expect(await names(via, '--locked')).toEqual(['bob']);
    expect(await names(via, '--deactivated')).toEqual(['carol']);
    expect(await names(via, '--guest')).toEqual(['guest1']);
    expect(await names(via, '--search', 'CORP')).toEqual(['bob']);
    expect(await names(via, '--search', 'er')).toEqual(['erin']);
    expect(await names(via, '--search', 'example.com')).toEqual(['alice', 'erin']);
  });

  it('prints a table, and says when --limit left users out', async () => {
    const r = await manage(via, 'list-users', '--limit', '2');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^user +created \(UTC\) +admin +state +emails +active sessions$/);
    expect(lines[1]).toMatch(/^alice +\d{4}-\d\d-\d\d \d\d:\d\d +yes +active +alice@example\.com +2$/);
    expect(lines[2]).toMatch(/^bob .* locked /);
    expect(lines.at(-1)).toMatch(/^2 users shown of 5, oldest first: more match; raise --limit \(now 2\)/);
    const bad = await manage(via, 'list-users', '--limit', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--limit 0: give how many users to list/);
  });

  it('show-user gives addresses, links and sessions with device, last seen and IP', async () => {
    const r = await manage(via, 'show-user', '@alice:example.com');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^@alice:example\.com {2}[0-9A-Z]{26}$/m);
    expect(r.stdout).toContain('may request admin: yes');
    expect(r.stdout).toContain('emails:         alice@example.com');
    expect(r.stdout).toContain('Corp SSO: subject alice-sub (alice@corp)');
    expect(r.stdout).toMatch(/active sessions \(2\), last seen first:/);
    expect(r.stdout).toMatch(/^compat +DEV\S+ +\d{4}-\d\d-\d\d \d\d:\d\d +(192\.0\.2\.10|127\.0\.0\.1) /m);
    const doc = JSON.parse((await manage(via, 'show-user', 'alice', '--json')).stdout);
    expect(doc.listing).toMatchObject({ username: 'alice', matrixId: '@alice:example.com', admin: true, inPolicyAdminUsers: false, emails: [{ email: 'alice@example.com' }], links: [{ subject: 'alice-sub', providerName: 'Corp SSO' }] });
    expect(doc.listing.sessions).toHaveLength(2);
    // Only the database knows which compatibility session is a Synapse admin one.
    expect(doc.listing.sessions.map((s: { synapseAdmin: boolean | null }) => s.synapseAdmin).sort()).toEqual(via === 'db' ? [false, true] : [null, null]);
    const erin = JSON.parse((await manage(via, 'show-user', 'erin', '--json')).stdout);
    expect(erin.listing).toMatchObject({ admin: false, inPolicyAdminUsers: true, sessions: [] });
  });

  it('show-user of an unknown user fails with the closest names (exit 10, as an unknown user in every manage command)', async () => {
    const r = await manage(via, 'show-user', 'alcie', '--json');
    expect(r.code).toBe(10);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: false, error: { code: 'MAS_TOOL_USER_NOT_FOUND' } });
    expect(doc.error.message).toMatch(/No user alcie in MAS \(closest: alice/);
  });
});
