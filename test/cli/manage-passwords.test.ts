// set-password --via db: the hash lands in user_passwords exactly as MAS would write it, for each
// algorithm MAS offers, with its pepper; verified with each algorithm's own library.
import { pbkdf2Sync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import bcrypt from 'bcryptjs';
import { verify as argon2Verify } from '@node-rs/argon2';
import { run } from '../helpers/cli.js';
import { createSyn2masEnv, type Syn2masEnv } from '../helpers/syn2mas-env.js';

let env: Syn2masEnv;
const PASSWORD = 'Plenty of entropy in this passphrase, ｆｕｌｌｗｉｄｔｈ';
// NFKC turns the fullwidth letters into ASCII, as MAS does with unicode_normalization.
const NORMALISED = PASSWORD.normalize('NFKC');
const PEPPER = 'pepper-for-the-tests';

beforeAll(async () => {
  env = await createSyn2masEnv({ fixtures: [] });
  await env.mas.client.query("INSERT INTO users (user_id, username, created_at) VALUES (gen_random_uuid(), 'olivia', now())");
}, 60_000);

afterAll(async () => {
  await env?.drop();
});

function configWith(name: string, passwords: Record<string, unknown>): string[] {
  return env.args(name, { mas: { passwords } }).slice(0, 2);
}

async function latestHash(): Promise<{ hashed_password: string; version: number }> {
  const r = await env.mas.client.query(
    "SELECT hashed_password, version FROM user_passwords WHERE user_id = (SELECT user_id FROM users WHERE username = 'olivia') ORDER BY created_at DESC LIMIT 1",
  );
  return r.rows[0];
}

async function setPassword(config: string[], password = PASSWORD, extra: string[] = []) {
  return run(['manage', 'set-password', 'olivia', '--password-stdin', ...config, '--via', 'db', ...extra], { stdin: `${password}\n` });
}

describe('manage set-password --via db', () => {
  it('bcrypt: password bytes then the pepper, the configured cost, the scheme version', async () => {
    const r = await setPassword(configWith('bcrypt', { schemes: [{ version: 4, algorithm: 'bcrypt', cost: 5, secret: PEPPER, unicode_normalization: true }] }));
    expect(r.code, r.stderr).toBe(0);
    const row = await latestHash();
    expect(row.version).toBe(4);
    expect(row.hashed_password).toMatch(/^\$2b\$05\$/);
    expect(await bcrypt.compare(NORMALISED + PEPPER, row.hashed_password)).toBe(true);
    expect(await bcrypt.compare(NORMALISED, row.hashed_password)).toBe(false);
  });

  it('argon2id: the pepper is the keyed-hashing secret, from a secret_file read as raw bytes', async () => {
    const file = `${env.dir}/pepper`;
    writeFileSync(file, `${PEPPER}\n`);
    const r = await setPassword(configWith('argon2', { schemes: [{ version: 1, algorithm: 'bcrypt' }, { version: 7, algorithm: 'argon2id', secret_file: file }] }));
    expect(r.code, r.stderr).toBe(0);
    const row = await latestHash();
    expect(row.version).toBe(7);
    expect(row.hashed_password).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await argon2Verify(row.hashed_password, PASSWORD, { secret: Buffer.from(`${PEPPER}\n`) })).toBe(true);
    expect(await argon2Verify(row.hashed_password, PASSWORD, { secret: Buffer.from(PEPPER) })).toBe(false);
  });

  it('pbkdf2: PBKDF2-HMAC-SHA256, 600000 rounds, over the password followed by the pepper', async () => {
    const r = await setPassword(configWith('pbkdf2', { schemes: [{ version: 3, algorithm: 'pbkdf2', secret: PEPPER }] }));
    expect(r.code, r.stderr).toBe(0);
    const row = await latestHash();
    expect(row.version).toBe(3);
    const m = /^\$pbkdf2-sha256\$i=600000,l=32\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(row.hashed_password);
    expect(m).not.toBeNull();
    const derived = pbkdf2Sync(Buffer.from(PASSWORD + PEPPER), Buffer.from(m![1]!, 'base64'), 600_000, 32, 'sha256');
    expect(derived.toString('base64').replace(/=+$/, '')).toBe(m![2]);
  });

  it('refuses a weak password unless --ignore-complexity, and never echoes it', async () => {
    const config = configWith('weak', { schemes: [{ version: 1, algorithm: 'bcrypt', cost: 4 }] });
    const before = await latestHash();
    const weak = await setPassword(config, 'olivia123');
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/too weak/);
    expect(weak.stderr + weak.stdout).not.toContain('olivia123');
    expect(await latestHash()).toEqual(before);
    const forced = await setPassword(config, 'olivia123', ['--ignore-complexity']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await bcrypt.compare('olivia123', (await latestHash()).hashed_password)).toBe(true);
  });

  it('refuses when MAS has password login disabled', async () => {
    const r = await setPassword(configWith('disabled', { enabled: false }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/passwords.enabled: false/);
  });

  it('asks for --password-stdin when there is no terminal to prompt on; passwords are never an argument', async () => {
    const r = await run(['manage', 'set-password', 'olivia', ...configWith('noprompt', {}), '--via', 'db']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--password-stdin/);
    const argv = await run(['manage', 'set-password', 'olivia', 'hunter2hunter2', ...configWith('argv', {}), '--via', 'db']);
    expect(argv.code).toBe(2);
  });
});
