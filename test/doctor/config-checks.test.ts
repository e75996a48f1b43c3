// The config family of doctor checks: homeserver.yaml against the MAS config, from object literals
// and secret files in a temporary directory. No network, no database.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { CheckResult, DoctorContext } from '../../src/doctor/check.js';
import { SECRET_PLACEHOLDER, configChecks } from '../../src/doctor/checks/config.js';
import { runChecks } from '../../src/doctor/runner.js';
import { createHttpClient, type HttpClient } from '../../src/http/client.js';
import { configChecksContext } from '../helpers/doctor-config.js';

const SECRET = 'Shared-Secret-Value-7f3a9c';
const OTHER = 'Another-Secret-Value-1b2c3d';
const ADMIN_TOKEN = 'Legacy-Admin-Token-9e8d7c';
const ALL_SECRETS = [SECRET, OTHER, ADMIN_TOKEN];

let http: HttpClient;
let dir: string;

beforeAll(() => {
  http = createHttpClient({ timeoutMs: 2000 });
  dir = mkdtempSync(join(tmpdir(), 'mas-tool-config-checks-'));
});
afterAll(async () => {
  await http.close();
  rmSync(dir, { recursive: true, force: true });
});

let fileCount = 0;
function secretFile(content: string | Buffer): string {
  const path = join(dir, `secret-${++fileCount}`);
  writeFileSync(path, content);
  return path;
}

const MAS_BASE = {
  http: { public_base: 'https://auth.example.com/' },
  matrix: { homeserver: 'example.com', endpoint: 'http://synapse:8008/', secret: SECRET },
};

function masDoc(matrix: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...MAS_BASE, matrix: { ...MAS_BASE.matrix, ...matrix }, ...extra };
}

function synapseDoc(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    server_name: 'example.com',
    matrix_authentication_service: { enabled: true, endpoint: 'http://mas:8080/', secret: SECRET },
    ...extra,
  };
}

function context(mas: Record<string, unknown>, synapse?: Record<string, unknown>): DoctorContext {
  return configChecksContext(http, mas, synapse);
}

async function run(mas: Record<string, unknown>, synapse?: Record<string, unknown>): Promise<Record<string, CheckResult>> {
  const results = await runChecks(configChecks, context(mas, synapse));
  const json = JSON.stringify(results);
  for (const secret of ALL_SECRETS) expect(json).not.toContain(secret);
  expect(results.map((r) => r.family)).toEqual(['config', 'config', 'config', 'config', 'config']);
  return Object.fromEntries(results.map((r) => [r.id, r]));
}

async function check(id: string, mas: Record<string, unknown>, synapse?: Record<string, unknown>): Promise<CheckResult> {
  const r = (await run(mas, synapse))[id];
  if (r === undefined) throw new Error(`no result for ${id}`);
  return r;
}

describe('without --synapse-config', () => {
  it('skips every check that compares with homeserver.yaml with a clear message, and judges the MAS secrets', async () => {
    const results = await run(masDoc());
    expect(Object.keys(results)).toEqual(['config.server_name', 'config.shared_secret', 'config.legacy_msc3861', 'config.synapse_conflicts', 'config.secret_strength']);
    const { 'config.secret_strength': strength, ...comparisons } = results;
    for (const r of Object.values(comparisons)) {
      expect(r.status).toBe('skip');
      expect(r.message).toContain('--synapse-config');
    }
    expect(strength).toMatchObject({ status: 'pass', details: { judged: ['matrix.secret'] } });
  });
});

describe('a healthy pair of configs', () => {
  it('passes every config check', async () => {
    const results = await run(masDoc(), synapseDoc());
    expect(Object.fromEntries(Object.entries(results).map(([id, r]) => [id, r.status]))).toEqual({
      'config.server_name': 'pass',
      'config.shared_secret': 'pass',
      'config.legacy_msc3861': 'pass',
      'config.synapse_conflicts': 'pass',
      'config.secret_strength': 'pass',
    });
  });
});

describe('config.server_name', () => {
  it('passes with a server name that has a port, written the same on both sides', async () => {
    const r = await check('config.server_name', masDoc({ homeserver: 'example.com:8448' }), synapseDoc({ server_name: 'example.com:8448' }));
    expect(r.status).toBe('pass');
    expect(r.message).toContain('example.com:8448');
  });

  it('fails when only one side has the port, and says the port is part of the name', async () => {
    const r = await check('config.server_name', masDoc({ homeserver: 'example.com' }), synapseDoc({ server_name: 'example.com:8448' }));
    expect(r.status).toBe('fail');
    expect(r.message).toContain('"example.com:8448"');
    expect(r.message).toContain('port');
    expect(r.fix).toContain('matrix.homeserver: "example.com:8448"');
    expect(r.details).toEqual({ synapseServerName: 'example.com:8448', masHomeserver: 'example.com' });
  });

  it('fails on a difference in case', async () => {
    const r = await check('config.server_name', masDoc({ homeserver: 'Example.com' }), synapseDoc());
    expect(r.status).toBe('fail');
    expect(r.message).toContain('letter case');
  });

  it('recognises MAS\'s default and a Synapse host name used instead of the server name', async () => {
    const unset = await check('config.server_name', { matrix: { secret: SECRET } }, synapseDoc());
    expect(unset.status).toBe('fail');
    expect(unset.message).toContain('localhost:8008 is MAS\'s default');
    const host = await check('config.server_name', masDoc({ homeserver: 'matrix.example.com' }), synapseDoc());
    expect(host.status).toBe('fail');
    expect(host.message).toContain('not the host where Synapse runs');
  });
});

describe('config.shared_secret', () => {
  it('passes with the same inline secret on both sides, and never shows it', async () => {
    const r = await check('config.shared_secret', masDoc(), synapseDoc());
    expect(r.status).toBe('pass');
    expect(r.message).toContain('matrix_authentication_service.secret in homeserver.yaml');
    expect(r.message).toContain('matrix.secret in mas.yaml');
  });

  it('strips a trailing newline from both files, as MAS and Synapse do, and says so', async () => {
    const masFile = secretFile(`${SECRET}\n`);
    const synFile = secretFile(`  ${SECRET}\r\n`);
    const r = await check(
      'config.shared_secret',
      masDoc({ secret: undefined, secret_file: masFile }),
      synapseDoc({ matrix_authentication_service: { enabled: true, secret_path: synFile } }),
    );
    expect(r.status).toBe('pass');
    expect(r.message).toContain(masFile);
    expect(r.message).toContain(synFile);
    expect(r.message).toContain('stripped');
    expect(r.details).toMatchObject({ mas: { kind: 'file', strippedWhitespace: true }, synapse: { kind: 'file', strippedWhitespace: true } });
  });

  it('passes a Synapse secret_path file with a newline against an inline MAS secret', async () => {
    const synFile = secretFile(`${SECRET}\n`);
    const r = await check('config.shared_secret', masDoc(), synapseDoc({ matrix_authentication_service: { enabled: true, secret_path: synFile } }));
    expect(r.status).toBe('pass');
  });

  it('names the Synapse inline secret that keeps a trailing newline (YAML block scalar) against a MAS file', async () => {
    const masFile = secretFile(`${SECRET}\n`);
    const r = await check(
      'config.shared_secret',
      masDoc({ secret: undefined, secret_file: masFile }),
      synapseDoc({ matrix_authentication_service: { enabled: true, secret: `${SECRET}\n` } }),
    );
    expect(r.status).toBe('fail');
    expect(r.message).toContain('differ only by whitespace');
    expect(r.message).toContain('matrix_authentication_service.secret in homeserver.yaml has a trailing newline');
    expect(r.message).not.toContain(`${masFile} (matrix.secret_file in mas.yaml) has`);
    expect(r.fix).toContain('matrix_authentication_service.secret in homeserver.yaml');
    expect(r.details).toMatchObject({ difference: 'whitespace-at-ends', byteLengths: { mas: SECRET.length, synapse: SECRET.length + 1 } });
  });

  it('names the MAS inline secret that keeps a trailing newline against a Synapse file', async () => {
    const synFile = secretFile(`${SECRET}\n`);
    const r = await check(
      'config.shared_secret',
      masDoc({ secret: `${SECRET}\n` }),
      synapseDoc({ matrix_authentication_service: { enabled: true, secret_path: synFile } }),
    );
    expect(r.status).toBe('fail');
    expect(r.message).toContain('matrix.secret in mas.yaml has a trailing newline');
    expect(r.message).toContain('MAS uses an inline matrix.secret exactly as written');
  });

  it('names leading whitespace in an inline secret', async () => {
    const r = await check('config.shared_secret', masDoc({ secret: ` ${SECRET}` }), synapseDoc());
    expect(r.status).toBe('fail');
    expect(r.message).toContain('matrix.secret in mas.yaml has leading whitespace');
  });

  it('names a file with a byte order mark, which neither program strips', async () => {
    const masFile = secretFile(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${SECRET}\n`)]));
    const r = await check('config.shared_secret', masDoc({ secret: undefined, secret_file: masFile }), synapseDoc());
    expect(r.status).toBe('fail');
    expect(r.message).toContain('differ only by a byte order mark at their ends');
    expect(r.message).toContain(`the file ${masFile} (matrix.secret_file in mas.yaml) has a byte order mark`);
    expect(r.fix).toContain(`Rewrite ${masFile} without the byte order mark`);
  });

  it('says when the values differ only by a line break inside', async () => {
    const half = SECRET.length / 2;
    const synFile = secretFile(`${SECRET.slice(0, half)}\n${SECRET.slice(half)}\n`);
    const r = await check('config.shared_secret', masDoc(), synapseDoc({ matrix_authentication_service: { enabled: true, secret_path: synFile } }));
    expect(r.status).toBe('fail');
    expect(r.message).toContain('whitespace inside the value');
    expect(r.message).toContain(synFile);
  });

  it('fails on different values, naming both places and showing neither value', async () => {
    const synFile = secretFile(`${OTHER}\n`);
    const r = await check('config.shared_secret', masDoc(), synapseDoc({ matrix_authentication_service: { enabled: true, secret_path: synFile } }));
    expect(r.status).toBe('fail');
    expect(r.message).toContain('The shared secrets differ');
    expect(r.message).toContain(`the file ${synFile} (matrix_authentication_service.secret_path in homeserver.yaml)`);
    expect(r.message).toContain('matrix.secret in mas.yaml');
    expect(r.details).toMatchObject({ difference: 'value' });
  });

  it('fails when either side has no secret', async () => {
    const noMas = await check('config.shared_secret', masDoc({ secret: undefined }), synapseDoc());
    expect(noMas.status).toBe('fail');
    expect(noMas.message).toContain('neither matrix.secret nor matrix.secret_file');
    const noSynapse = await check('config.shared_secret', masDoc(), synapseDoc({ matrix_authentication_service: { enabled: true } }));
    expect(noSynapse.status).toBe('fail');
    expect(noSynapse.message).toContain('neither matrix_authentication_service.secret nor matrix_authentication_service.secret_path');
  });

  it('fails with the path when a secret file cannot be read', async () => {
    const missing = join(dir, 'no-such-file');
    const r = await check('config.shared_secret', masDoc({ secret: undefined, secret_file: missing }), synapseDoc());
    expect(r.status).toBe('fail');
    expect(r.message).toContain(missing);
    expect(r.message).toContain('ENOENT');
  });

  it('fails on a secret file that is not UTF-8 text', async () => {
    const bad = secretFile(Buffer.from([0xff, 0xfe, 0x41, 0x42, 0x43, 0x44]));
    const r = await check('config.shared_secret', masDoc(), synapseDoc({ matrix_authentication_service: { enabled: true, secret_path: bad } }));
    expect(r.status).toBe('fail');
    expect(r.message).toContain('not UTF-8 text');
  });

  it('fails when the integration is disabled, with the block to paste and a placeholder for the secret', async () => {
    const r = await check('config.shared_secret', masDoc(), synapseDoc({ matrix_authentication_service: { enabled: false, endpoint: 'http://mas:8080/', secret: SECRET } }));
    expect(r.status).toBe('fail');
    expect(r.message).toContain('matrix_authentication_service.enabled is not true');
    expect(r.message).toContain('The shared secrets themselves match');
    const yaml = r.details?.yaml as string;
    expect(parseYaml(yaml)).toEqual({ matrix_authentication_service: { enabled: true, endpoint: 'http://mas:8080/', secret: SECRET_PLACEHOLDER } });
  });

  it('keeps secret_path in the block when Synapse reads the secret from a file, and reports a mismatch too', async () => {
    const synFile = secretFile(OTHER);
    const r = await check('config.shared_secret', masDoc(), synapseDoc({ matrix_authentication_service: { enabled: false, secret_path: synFile } }));
    expect(r.status).toBe('fail');
    expect(r.message).toContain('The shared secrets differ');
    expect(parseYaml(r.details?.yaml as string)).toEqual({
      matrix_authentication_service: { enabled: true, endpoint: 'http://localhost:8080', secret_path: synFile },
    });
  });

  it('fails without a matrix_authentication_service section, pointing at the legacy block when there is one', async () => {
    const doc = synapseDoc({ experimental_features: { msc3861: { enabled: true, issuer: 'https://auth.example.com/', admin_token: ADMIN_TOKEN } } });
    delete doc.matrix_authentication_service;
    const r = await check('config.shared_secret', masDoc(), doc);
    expect(r.status).toBe('fail');
    expect(r.message).toContain('no matrix_authentication_service section');
    expect(r.message).toContain('config.legacy_msc3861');
    expect(parseYaml(r.details?.yaml as string)).toMatchObject({ matrix_authentication_service: { enabled: true, endpoint: 'https://auth.example.com/', secret: SECRET_PLACEHOLDER } });
  });
});

describe('config.legacy_msc3861', () => {
  const legacy = (msc3861: Record<string, unknown>, withStable = false): Record<string, unknown> => {
    const doc = synapseDoc({ experimental_features: { msc3861 } });
    if (!withStable) delete doc.matrix_authentication_service;
    return doc;
  };

  it('fails on a leftover msc3861 block, with the equivalent stable block in details.yaml', async () => {
    const r = await check(
      'config.legacy_msc3861',
      masDoc(),
      legacy({ enabled: true, issuer: 'https://auth.example.com/', client_id: '0000000000000000000SYNAPSE', client_auth_method: 'client_secret_basic', admin_token: ADMIN_TOKEN }),
    );
    expect(r.status).toBe('fail');
    expect(r.message).toContain('experimental_features.msc3861');
    expect(r.message).toContain('1.157');
    expect(r.fix).toContain('matrix_authentication_service block shown below');
    const yaml = r.details?.yaml as string;
    expect(parseYaml(yaml)).toEqual({ matrix_authentication_service: { enabled: true, endpoint: 'https://auth.example.com/', secret: SECRET_PLACEHOLDER } });
    expect(yaml).not.toContain(ADMIN_TOKEN);
    expect(r.details?.msc3861).toEqual({ enabled: true, issuer: 'https://auth.example.com/', clientId: '0000000000000000000SYNAPSE', adminToken: 'experimental_features.msc3861.admin_token' });
  });

  it('fails even on a disabled block, and takes the endpoint from MAS when the block names no issuer', async () => {
    const r = await check('config.legacy_msc3861', masDoc(), legacy({ enabled: false }));
    expect(r.status).toBe('fail');
    expect(r.message).toContain('enabled: false');
    expect(parseYaml(r.details?.yaml as string)).toMatchObject({ matrix_authentication_service: { endpoint: 'https://auth.example.com/' } });
  });

  it('says to delete the block when the stable section is already on, and names the MAS client that served it', async () => {
    const mas = masDoc({}, { clients: [{ client_id: '0000000000000000000SYNAPSE', client_auth_method: 'client_secret_basic', client_secret: OTHER }] });
    const r = await check('config.legacy_msc3861', mas, legacy({ enabled: true, client_id: '0000000000000000000SYNAPSE' }, true));
    expect(r.status).toBe('fail');
    expect(r.message).toContain('refuse to start with both');
    expect(r.fix).toContain('Delete the experimental_features.msc3861 block');
    expect(r.fix).toContain('0000000000000000000SYNAPSE');
    expect(r.details?.matrixAuthenticationServiceEnabled).toBe(true);
  });

  it('passes without the block (an empty msc3861 mapping counts as none)', async () => {
    expect((await check('config.legacy_msc3861', masDoc(), synapseDoc())).status).toBe('pass');
    expect((await check('config.legacy_msc3861', masDoc(), synapseDoc({ experimental_features: { msc3861: {} } }))).status).toBe('pass');
  });
});

describe('config.synapse_conflicts', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['password login', { password_config: { enabled: true } }, 'password_config.enabled'],
    ['password reauth', { password_config: { enabled: 'only_for_reauth' } }, 'password_config.enabled'],
    ['registration', { enable_registration: true }, 'enable_registration'],
    ['consent', { user_consent: { template_dir: 'res/templates/privacy', version: '1.0' } }, 'user_consent'],
    ['an OIDC provider', { oidc_providers: [{ idp_id: 'google', issuer: 'https://accounts.google.com/', client_id: 'c', client_secret: OTHER }] }, 'oidc_providers[0]'],
    ['the legacy OIDC block', { oidc_config: { enabled: true, issuer: 'https://idp.example.com/', client_id: 'c' } }, 'oidc_config'],
    ['SAML', { saml2_config: { sp_config: { metadata: {} } } }, 'saml2_config'],
    ['CAS', { cas_config: { enabled: true, server_url: 'https://cas.example.com/' } }, 'cas_config'],
    ['JWT', { jwt_config: { enabled: true, secret: OTHER, algorithm: 'HS256' } }, 'jwt_config.enabled'],
    ['a password provider', { password_providers: [{ module: 'ldap_auth_provider.LdapAuthProvider', config: {} }] }, 'password_providers'],
    ['LDAP', { ldap_config: { enabled: true } }, 'password_providers'],
    ['captcha', { enable_registration_captcha: true }, 'enable_registration_captcha'],
    ['login via an existing session', { login_via_existing_session: { enabled: true } }, 'login_via_existing_session.enabled'],
    ['refresh_token_lifetime', { refresh_token_lifetime: '24h' }, 'refresh_token_lifetime'],
    ['nonrefreshable_access_token_lifetime', { nonrefreshable_access_token_lifetime: '24h' }, 'nonrefreshable_access_token_lifetime'],
    ['session_lifetime', { session_lifetime: '24h' }, 'session_lifetime'],
    ['3pid changes', { enable_3pid_changes: true }, 'enable_3pid_changes'],
  ];

  it.each(cases)('fails on %s, naming %s and what to do', async (_name, extra, key) => {
    const r = await check('config.synapse_conflicts', masDoc(), synapseDoc(extra));
    expect(r.status).toBe('fail');
    expect(r.message).toContain('1 option that cannot coexist with MAS');
    expect(r.message).toContain(key);
    expect(r.fix).toContain(`${key}: `);
    const conflicts = r.details?.conflicts as Array<{ key: string; fix: string }>;
    expect(conflicts.map((c) => c.key)).toEqual([key]);
    expect(conflicts[0]?.fix.length).toBeGreaterThan(5);
  });

  it('lists every conflict at once', async () => {
    const r = await check(
      'config.synapse_conflicts',
      masDoc(),
      synapseDoc({ enable_registration: true, session_lifetime: '1d', enable_3pid_changes: true, oidc_providers: [{ idp_id: 'kc', issuer: 'https://kc/', client_id: 'c' }] }),
    );
    expect(r.status).toBe('fail');
    expect(r.message).toContain('4 options');
    expect((r.details?.conflicts as Array<{ key: string }>).map((c) => c.key)).toEqual(['enable_registration', 'oidc_providers[0]', 'session_lifetime', 'enable_3pid_changes']);
    expect(r.fix).toContain('synapse_idp_id: oidc-kc');
  });

  it('passes with explicit harmless values', async () => {
    const r = await check(
      'config.synapse_conflicts',
      masDoc(),
      synapseDoc({
        password_config: { enabled: false },
        enable_registration: false,
        enable_3pid_changes: false,
        login_via_existing_session: { enabled: false },
        jwt_config: { enabled: false },
        cas_config: { enabled: false, server_url: 'https://cas/' },
        oidc_config: { enabled: false, issuer: 'https://idp/', client_id: 'c' },
      }),
    );
    expect(r.status).toBe('pass');
    expect(r.details).toEqual({ conflicts: [] });
  });

  it('does not blame password_config.enabled for Synapse\'s default while the integration is off, but says so', async () => {
    const r = await check('config.synapse_conflicts', masDoc(), synapseDoc({ matrix_authentication_service: { enabled: false, secret: SECRET } }));
    expect(r.status).toBe('pass');
    expect((r.details?.notes as string[])[0]).toContain('password_config.enabled was not judged');
  });
});
