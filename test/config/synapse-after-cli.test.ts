// `mas-tool config synapse-after` as an operator runs it at cut-over: the reviewable diff on stdout
// with no secret in it, --block alone, --output writing a patch that holds them (0600, not over a
// file), --json, the shared secret file checked against the MAS config, and the exit codes.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { run } from '../helpers/cli.js';

let dir: string;
let hs: string;
let mas: string;
const SECRET = 'cut-over-shared-secret-Xy12';
const fixture = (name: string) => new URL(`../fixtures/synapse-configs/${name}`, import.meta.url).pathname;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mas-tool-synapse-after-cli-'));
  hs = join(dir, 'homeserver.yaml');
  writeFileSync(hs, readFileSync(fixture('sso-providers/homeserver.yaml')));
  mas = join(dir, 'mas.yaml');
  writeFileSync(
    mas,
    stringify({
      http: { public_base: 'https://auth.sso.example/', listeners: [{ name: 'web', resources: [{ name: 'discovery' }, { name: 'oauth' }, { name: 'human' }], binds: [{ host: 'mas', port: 8080 }] }] },
      matrix: { homeserver: 'sso.example', secret: SECRET },
    }),
  );
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const after = (...args: string[]) => run(['config', 'synapse-after', '--synapse-config', hs, '-c', mas, ...args]);
/** Every secret of the fixture, none of which may be printed. */
const FIXTURE_SECRETS = ['sso-db-password-Ww31', 'recaptcha-private-Lm4Tz81'];

describe('config synapse-after', () => {
  it('prints the diff with every refused or ignored option and why, no secret in it, and says the secret file is missing', async () => {
    const secretFile = join(dir, 'missing-secret');
    const r = await after('--secret-path', secretFile);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# Changes to homeserver.yaml at the cut-over to MAS/);
    expect(r.stdout).toMatch(/^# {3}remove {2}oidc_providers \(.*\): Synapse refuses it beside MAS: single sign-on is done by MAS/m);
    expect(r.stdout).toContain(`--- ${hs}\n+++ ${hs}\n`);
    expect(r.stdout).toContain(`+  endpoint: "http://mas:8080/"`);
    expect(r.stdout).toContain(`+  secret_path: ${JSON.stringify(secretFile)}`);
    for (const s of [...FIXTURE_SECRETS, SECRET]) expect(r.stdout + r.stderr).not.toContain(s);
    expect(r.stderr).toMatch(/I_SYNAPSE_AFTER_SECRET_FILE: .*missing-secret does not exist yet/);
  });

  it('prints the block alone with --block', async () => {
    const r = await after('--block', '--endpoint', 'https://mas.internal/', '--secret-path', '/run/secrets/mas');
    expect(r.stdout).toBe(
      [
        'matrix_authentication_service:',
        '  enabled: true',
        '  # Where Synapse reaches MAS (its discovery and oauth resources).',
        '  # The address is given with --endpoint.',
        '  endpoint: "https://mas.internal/"',
        '  # A file holding the value of matrix.secret of the MAS config, readable by Synapse.',
        '  secret_path: "/run/secrets/mas"',
        '',
      ].join('\n'),
    );
  });

  it('writes a patch that applies with --output (0600, secrets as they are), and not over an existing file', async () => {
    const out = join(dir, 'cutover.patch');
    const r = await after('--output', out, '--secret-path', '/run/secrets/mas');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`patch -p0 < ${out}`);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readFileSync(out, 'utf8')).toContain('-recaptcha_private_key: "recaptcha-private-Lm4Tz81"');
    const again = await after('--output', out);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists/);
    expect((await after('--output', out, '--force')).code).toBe(0);
  });

  it('--json has the changes, the masked diff and the block, and no secret', async () => {
    const r = await after('--json', '--secret-path', '/run/secrets/mas');
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: true, exitCode: 0, endpoint: 'http://mas:8080/', secretPath: '/run/secrets/mas', output: null });
    expect(doc.changes.map((c: { key: string }) => c.key)).toEqual(expect.arrayContaining(['password_config', 'enable_registration', 'oidc_providers', 'matrix_authentication_service']));
    expect(doc.changes.find((c: { key: string }) => c.key === 'registration_requires_token')).toMatchObject({ action: 'remove', effect: 'ignored' });
    expect(doc.diff).toContain('[redacted]');
    for (const s of [...FIXTURE_SECRETS, SECRET]) expect(r.stdout).not.toContain(s);
  });

  it('checks the secret file against matrix.secret: the same value passes, another one warns (exit 11)', async () => {
    const good = join(dir, 'good-secret');
    writeFileSync(good, `${SECRET}\n`);
    const ok = await after('--secret-path', good, '--json');
    expect(JSON.parse(ok.stdout).findings.map((f: { code: string }) => f.code)).not.toContain('W_SYNAPSE_AFTER_SECRET_MISMATCH');
    const bad = join(dir, 'bad-secret');
    writeFileSync(bad, 'something-else-entirely');
    const r = await after('--secret-path', bad);
    expect(r.code).toBe(11);
    expect(r.stderr).toMatch(/W_SYNAPSE_AFTER_SECRET_MISMATCH: .*bad-secret does not hold the same value as matrix.secret/);
    expect(r.stderr).not.toContain('something-else-entirely');
  });

  it('reads a Debian split config the way config generate does', async () => {
    const r = await run(['config', 'synapse-after', '--synapse-config', fixture('debian/homeserver.yaml'), '--synapse-config', fixture('debian/conf.d'), '-c', mas, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.files).toContainEqual({ path: join(fixture('debian/conf.d'), 'matrix_authentication_service.yaml'), new: true });
  });

  it('refuses a bad --endpoint (exit 2) and a Synapse config that does not exist (exit 1)', async () => {
    const bad = await after('--endpoint', 'mas:8080');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--endpoint mas:8080 is not an http\(s\) URL/);
    const missing = await run(['config', 'synapse-after', '--synapse-config', join(dir, 'nope.yaml'), '-c', mas]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);
  });
});
