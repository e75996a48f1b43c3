// `mas-tool manage registration-token ...` as an operator runs it, on both backends: issue prints the
// token once, alone on stdout (or in the token key of --json) and nowhere else; list never shows a
// token; revoke/unrevoke by id or by text; and the bad inputs with their exit codes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { run } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startFakeMasAdmin, type FakeMasAdmin } from '../helpers/fake-mas-admin.js';

let db: TestDatabase;
let fake: FakeMasAdmin;
let dir: string;
const backends: Record<'db' | 'api', string[]> = { db: [], api: [] };

beforeAll(async () => {
  db = await createTestDatabase('mas');
  fake = await startFakeMasAdmin();
  dir = mkdtempSync(join(tmpdir(), 'mas-tool-manage-tokens-'));
  const dbConfig = join(dir, 'db.yaml');
  writeFileSync(dbConfig, stringify({ database: { uri: db.url }, matrix: { homeserver: 'example.com', endpoint: 'http://127.0.0.1:1/' } }));
  const apiConfig = join(dir, 'api.yaml');
  writeFileSync(
    apiConfig,
    stringify({
      http: { public_base: fake.url, listeners: [{ name: 'web', resources: [{ name: 'discovery' }, { name: 'oauth' }, { name: 'adminapi' }], binds: [{ address: '[::]:8080' }] }] },
      matrix: { homeserver: 'example.com', endpoint: 'http://127.0.0.1:1/', secret: 'matrix-shared-secret-value' },
      clients: [{ client_id: fake.client.clientId, client_auth_method: fake.client.authMethod, client_secret: fake.client.secret }],
      policy: { data: { admin_clients: [fake.client.clientId] } },
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

const tokens = (via: 'db' | 'api', ...args: string[]) => run(['manage', 'registration-token', ...args, ...backends[via]]);

describe.each(['db', 'api'] as const)('manage registration-token --via %s', (via) => {
  it('issue prints the token alone on stdout, once, and nothing else shows it', async () => {
    const r = await tokens(via, 'issue', '--uses', '3', '--expires', '2030-06-30');
    expect(r.code, r.stderr).toBe(0);
    const token = r.stdout.trim();
    expect(r.stdout).toMatch(/^[A-Za-z0-9]{12}\n$/);
    expect(r.stderr).toMatch(/issued a registration token for 3 registrations, until 2030-07-01T00:00:00\.000Z/);
    expect(r.stderr).not.toContain(token);
    const list = await tokens(via, 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/usable +0\/3 +2030-07-01 00:00/);
    expect(list.stdout).not.toContain(token);
    expect(list.stdout).toContain('The tokens themselves are not shown');
    const json = await tokens(via, 'list', '--json');
    expect(json.stdout).not.toContain(token);
  });

  it('issue --json puts the token in the token key and nowhere else; --token and --unlimited are honoured', async () => {
    const chosen = `chosen-${via}-invite`;
    const r = await tokens(via, 'issue', '--token', chosen, '--unlimited', '--json');
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: true, command: 'registration-token issue', backend: via, token: chosen, summary: { changed: 1 } });
    expect(doc.items[0].details).toMatchObject({ usageLimit: null, expiresAt: null });
    expect(r.stdout.split(chosen)).toHaveLength(2);
    expect(r.stderr).not.toContain(chosen);
    // The same text again is refused, and the token is still not printed.
    const again = await tokens(via, 'issue', '--token', chosen, '--json');
    expect(again.code).toBe(10);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: false, exitCode: 10, items: [{ status: 'failed' }] });
    expect(again.stdout).not.toContain(chosen);
  });

  it('list --json gives each token state: usable, used up, expired, revoked', async () => {
    const made = async (...args: string[]) => JSON.parse((await tokens(via, 'issue', ...args, '--json')).stdout).items[0].subject as string;
    const usedUp = await made('--uses', '1');
    const expired = await made('--expires', '1m');
    const revoked = await made();
    if (via === 'db') {
      await db.client.query("UPDATE user_registration_tokens SET times_used = 1, last_used_at = now() WHERE user_registration_token_id = (SELECT user_registration_token_id FROM user_registration_tokens ORDER BY created_at DESC OFFSET 2 LIMIT 1)");
      await db.client.query("UPDATE user_registration_tokens SET expires_at = now() - interval '1 minute' WHERE user_registration_token_id = (SELECT user_registration_token_id FROM user_registration_tokens ORDER BY created_at DESC OFFSET 1 LIMIT 1)");
    } else {
      fake.registrationTokens.get(usedUp)!.timesUsed = 1;
      fake.registrationTokens.get(expired)!.expiresAt = new Date(Date.now() - 60_000).toISOString();
    }
    expect((await tokens(via, 'revoke', revoked)).code).toBe(0);
    const doc = JSON.parse((await tokens(via, 'list', '--json')).stdout);
    const state = (id: string) => doc.listing.tokens.find((t: { id: string }) => t.id === id)?.state;
    expect([state(usedUp), state(expired), state(revoked)]).toEqual(['used-up', 'expired', 'revoked']);
    expect(doc.listing.tokens.every((t: Record<string, unknown>) => !('token' in t))).toBe(true);
    const onlyRevoked = JSON.parse((await tokens(via, 'list', '--state', 'revoked', '--json')).stdout);
    expect(onlyRevoked.listing.tokens.map((t: { id: string }) => t.id)).toContain(revoked);
    expect(onlyRevoked.listing.tokens.every((t: { state: string }) => t.state === 'revoked')).toBe(true);
  });

  it('revoke by the token text, a revoked token revoked again is refused (exit 10), unrevoke makes it usable', async () => {
    const text = `revoke-by-text-${via}`;
    const id = JSON.parse((await tokens(via, 'issue', '--token', text, '--json')).stdout).items[0].subject as string;
    const first = await tokens(via, 'revoke', text);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`changed   ${id}: revoked`);
    expect(first.stdout).not.toContain(text);
    const again = await tokens(via, 'revoke', id);
    expect(again.code).toBe(10);
    expect(again.stdout).toMatch(new RegExp(`failed +${id}: already revoked since .*; nothing was changed`));
    const back = await tokens(via, 'unrevoke', id);
    expect(back.code).toBe(0);
    expect(back.stdout).toContain('unrevoked: it can be used to register again');
    expect((await tokens(via, 'unrevoke', id)).code).toBe(10);
  });

  it('an unknown token is a failed item naming no token text', async () => {
    const r = await tokens(via, 'revoke', 'no-such-invite-code', '01ARZ3NDEKTSV4RRFFQ69G5FAV', '--json');
    expect(r.code).toBe(10);
    const doc = JSON.parse(r.stdout);
    expect(doc.items.map((i: { subject: string; status: string }) => [i.subject, i.status])).toEqual([
      ['the token given as text (19 characters)', 'failed'],
      ['01ARZ3NDEKTSV4RRFFQ69G5FAV', 'failed'],
    ]);
    expect(r.stdout).not.toContain('no-such-invite-code');
  });

  it('refuses negative uses, a malformed or past date, a bad token text, and --uses with --unlimited (exit 2)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--uses', '-2'], /--uses -2: a token must allow at least one registration/],
      [['--expires', '31/12/2030'], /--expires 31\/12\/2030: not a date/],
      [['--expires', '2020-01-01'], /which has already passed/],
      [['--token', 'has space'], /--token: the token has a character Matrix clients do not accept at position 4/],
      [['--uses', '2', '--unlimited'], /--uses N or --unlimited, not both/],
    ];
    for (const [args, message] of cases) {
      const r = await tokens(via, 'issue', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/hint:/);
      expect(r.stdout).toBe('');
    }
    const json = await tokens(via, 'issue', '--uses', '-2', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'MAS_TOOL_USAGE' } });
  });

  it('a dry run issues nothing and prints no token', async () => {
    const before = JSON.parse((await tokens(via, 'list', '--json')).stdout).listing.tokens.length;
    const r = await run(['manage', '--dry-run', 'registration-token', 'issue', ...backends[via]]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/would +new registration token/);
    expect(JSON.parse((await tokens(via, 'list', '--json')).stdout).listing.tokens).toHaveLength(before);
  });
});
