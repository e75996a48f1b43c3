import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeTime } from 'ulid';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { generateMasConfig, type GenerateOptions } from '../../src/config/generate.js';
import { generateSecrets, type GeneratedSecrets } from '../../src/config/keys.js';
import { loadSynapseConfigFiles } from '../../src/config/read.js';
import { readSecretSource } from '../../src/config/secret-source.js';
import { parseSynapseConfig, type ParsedSynapseConfig } from '../../src/config/synapse.js';
import type { Finding } from '../../src/report/finding.js';
import { Secret } from '../../src/secret.js';
import { run } from '../helpers/cli.js';
import { sourced } from '../helpers/config.js';
import { validateMasConfig } from '../helpers/mas-config-schema.js';

const fixture = (path: string): string => fileURLToPath(new URL(`../fixtures/synapse-configs/${path}`, import.meta.url));
const SSO = fixture('sso-providers/homeserver.yaml');
const LEGACY = fixture('legacy-and-unsupported/homeserver.yaml');
const DEBIAN = fixture('debian/homeserver.yaml');
const DEBIAN_CONF_D = fixture('debian/conf.d');

const NOW = new Date('2026-08-01T12:00:00.000Z');
// Real keys (the validator loads them), generated once: fixed for the whole file.
const KEYS = generateSecrets();
const SECRETS: GeneratedSecrets = {
  encryptionHex: '0123456789abcdef'.repeat(4),
  rsaPrivateKeyPem: KEYS.rsaPrivateKeyPem,
  ecP256PrivateKeyPem: KEYS.ecP256PrivateKeyPem,
  matrixSecret: 'FreshMatrixSecretFreshMatrixSec1',
};
const OPTIONS: GenerateOptions = { now: NOW, secrets: SECRETS };

/** Every secret value the fixtures hold; none may appear in a finding or on the terminal. */
const FIXTURE_SECRETS = [
  'kc-client-secret-Zr81xQ',
  'legacy-idp-secret-93kdPq',
  'google-secret-Xy12Tt',
  'github-secret-Gh77Rr',
  'shared-secret-from-synapse-Hh28pQ',
  'pepper-Kq9vT3xR',
  'recaptcha-private-Lm4Tz81',
  'sso-db-password-Ww31',
  'legacy-oidc-secret-P0o9Lk',
  'legacy-db-password-Jj02',
  'jwt-hs256-secret-Vb55Ncx',
  'debian-db-password-7Q2',
];

function load(...paths: string[]): ParsedSynapseConfig {
  return parseSynapseConfig(loadSynapseConfigFiles(paths));
}

function codes(findings: readonly Finding[]): string[] {
  return findings.map((f) => f.code);
}

function only(findings: readonly Finding[], code: string): Finding[] {
  return findings.filter((f) => f.code === code);
}

type Provider = Record<string, unknown>;

function providersOf(doc: Record<string, unknown>): Provider[] {
  const upstream = doc.upstream_oauth2 as { providers: Provider[] } | undefined;
  return upstream?.providers ?? [];
}

function byIdp(doc: Record<string, unknown>, idp: string): Provider {
  const p = providersOf(doc).find((x) => x.synapse_idp_id === idp);
  if (p === undefined) throw new Error(`no provider ${idp}`);
  return p;
}

/** Checks the shape every finding must have, and that it leaks nothing. */
function expectWellFormed(findings: readonly Finding[]): void {
  for (const f of findings) {
    expect(f.code).toMatch(/^[WI]_GENERATE_[A-Z0-9_]+$/);
    expect(f.severity).toBe(f.code.startsWith('W_') ? 'warning' : 'info');
    expect(f.message.length).toBeGreaterThan(10);
    expect(f.fix?.length ?? 0).toBeGreaterThan(10);
    expect(f.details).toBeTypeOf('object');
  }
  const text = JSON.stringify(findings);
  for (const secret of [...FIXTURE_SECRETS, SECRETS.encryptionHex, SECRETS.matrixSecret]) expect(text).not.toContain(secret);
  expect(text).not.toContain('PRIVATE KEY');
}

describe('generateMasConfig: homeserver.yaml with several SSO providers', () => {
  const synapse = load(SSO);
  const shared = readSecretSource(synapse.mas?.secret as NonNullable<typeof synapse.mas>['secret'] & object, 'trim');
  const result = generateMasConfig(synapse, { ...OPTIONS, sharedSecret: shared });
  const doc = result.document;
  const parsed = parseYaml(result.yaml) as Record<string, unknown>;

  it('writes YAML that MAS would accept, and that reads back as the document', () => {
    expect(validateMasConfig(parsed)).toEqual([]);
    expect(parsed).toEqual(doc);
  });

  it('orders the sections for reading, secrets last', () => {
    expect(Object.keys(parsed)).toEqual(['matrix', 'http', 'database', 'passwords', 'account', 'captcha', 'upstream_oauth2', 'email', 'secrets']);
  });

  it('starts with a header naming the source file and warning that it holds secrets', () => {
    const header = result.yaml.split('\n').filter((l) => l.startsWith('#')).join('\n');
    expect(result.yaml.startsWith('# ')).toBe(true);
    expect(header).toContain('mas-tool');
    expect(header).toContain(SSO);
    expect(header).toContain(NOW.toISOString());
    expect(header).toMatch(/holds secrets/);
  });

  it('is deterministic for fixed options', () => {
    const again = generateMasConfig(load(SSO), { ...OPTIONS, sharedSecret: shared });
    expect(again.yaml).toBe(result.yaml);
    expect(again.findings).toEqual(result.findings);
  });

  it('takes matrix.secret from matrix_authentication_service.secret and leaves endpoint internal', () => {
    expect(parsed.matrix).toEqual({
      kind: 'synapse',
      homeserver: 'sso.example',
      secret: 'shared-secret-from-synapse-Hh28pQ',
      endpoint: 'http://localhost:8008/',
    });
    expect(result.yaml).not.toContain('endpoint: https://matrix.sso.example');
    const [endpoint] = only(result.findings, 'W_GENERATE_ENDPOINT_DEFAULT');
    expect(endpoint?.message).toContain('https://matrix.sso.example/');
    expect(endpoint?.details).toMatchObject({ key: 'matrix.endpoint', synapsePublicBaseurl: 'https://matrix.sso.example/' });
    expect(codes(result.findings)).not.toContain('I_GENERATE_MATRIX_SECRET_NEW');
  });

  it('uses the inline shared secret even when the caller did not pass it', () => {
    const r = generateMasConfig(load(SSO), OPTIONS);
    expect((r.document.matrix as Record<string, unknown>).secret).toBe('shared-secret-from-synapse-Hh28pQ');
  });

  it('keeps the placeholder public_base, without an issuer, and says so', () => {
    const http = parsed.http as Record<string, unknown>;
    expect(http.public_base).toBe('http://[::]:8080/');
    expect(http).not.toHaveProperty('issuer');
    expect(http.listeners).toEqual([
      {
        name: 'web',
        resources: [{ name: 'discovery' }, { name: 'human' }, { name: 'oauth' }, { name: 'compat' }, { name: 'graphql' }, { name: 'assets' }],
        binds: [{ address: '[::]:8080' }],
        proxy_protocol: false,
      },
      { name: 'internal', resources: [{ name: 'health' }], binds: [{ host: 'localhost', port: 8081 }], proxy_protocol: false },
    ]);
    const [f] = only(result.findings, 'W_GENERATE_PUBLIC_BASE');
    expect(f?.message).toContain('https://matrix.sso.example/');
    expect(f?.fix).toMatch(/http\.public_base/);
  });

  it('points MAS at its own empty database', () => {
    expect(parsed.database).toEqual({ uri: 'postgresql://' });
    const [f] = only(result.findings, 'W_GENERATE_DATABASE');
    expect(f?.message).toMatch(/own empty PostgreSQL database/);
    expect(f?.details).toMatchObject({ synapseDatabase: { name: 'psycopg2', host: 'db.sso.example', dbname: 'synapse' } });
  });

  it('carries the bcrypt cost and pepper into a v1 scheme, with argon2id as v2', () => {
    expect(parsed.passwords).toEqual({
      enabled: true,
      schemes: [
        { version: 1, algorithm: 'bcrypt', cost: 14, secret: 'pepper-Kq9vT3xR', unicode_normalization: true },
        { version: 2, algorithm: 'argon2id' },
      ],
    });
  });

  it('carries registration, token requirement, 3PID and display name settings', () => {
    expect(parsed.account).toEqual({
      password_registration_enabled: true,
      password_registration_token_required: true,
      email_change_allowed: false,
      displayname_change_allowed: false,
    });
  });

  it('carries the reCAPTCHA keys', () => {
    expect(parsed.captcha).toEqual({
      service: 'recaptcha_v2',
      site_key: '6LdPublicSiteKeyForTests0000000000000000',
      secret_key: 'recaptcha-private-Lm4Tz81',
    });
  });

  it('writes fresh secrets: the encryption key and one RSA and one EC key', () => {
    expect(parsed.secrets).toEqual({
      encryption: SECRETS.encryptionHex,
      keys: [{ key: SECRETS.rsaPrivateKeyPem }, { key: SECRETS.ecP256PrivateKeyPem }],
    });
    expect(parsed.email).toEqual({
      from: '"Authentication Service" <root@localhost>',
      reply_to: '"Authentication Service" <root@localhost>',
      transport: 'blackhole',
    });
  });

  it('converts every provider with a client_id, in order, with ULIDs from `now`', () => {
    const providers = providersOf(parsed);
    expect(providers.map((p) => p.synapse_idp_id)).toEqual([
      'oidc-keycloak',
      'oidc-legacy-idp',
      'oidc-google',
      'oidc-gitlab',
      'oidc-github',
      'oidc-corp',
      'oidc-apple',
    ]);
    const ids = providers.map((p) => p.id as string);
    for (const id of ids) {
      expect(id).toMatch(/^[0123456789ABCDEFGHJKMNPQRSTVWXYZ]{26}$/);
      expect(decodeTime(id)).toBe(NOW.getTime());
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('skips the provider without client_id, with a warning', () => {
    const [f] = only(result.findings, 'W_GENERATE_PROVIDER_NO_CLIENT_ID');
    expect(f?.message).toContain('oidc_providers[6]');
    expect(f?.details).toMatchObject({ key: 'oidc_providers[6]', synapseIdpId: 'oidc-unfinished' });
  });

  it('keycloak: client_secret_post, PKCE always, form_post, userinfo, back-channel logout, suggested claims', () => {
    expect(byIdp(parsed, 'oidc-keycloak')).toEqual({
      id: expect.any(String),
      synapse_idp_id: 'oidc-keycloak',
      human_name: 'Company SSO',
      issuer: 'https://sso.example.com/realms/staff',
      discovery_mode: 'oidc',
      client_id: 'synapse',
      client_secret: 'kc-client-secret-Zr81xQ',
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'openid profile email',
      pkce_method: 'always',
      fetch_userinfo: true,
      response_mode: 'form_post',
      additional_authorization_parameters: { acr_values: 'urn:example:loa:2' },
      on_backchannel_logout: 'logout_all',
      claims_imports: {
        localpart: { action: 'suggest', template: '{{ user.preferred_username }}' },
        displayname: { action: 'suggest', template: '{{ user.name }}' },
        email: { action: 'suggest', template: '{{ user.email }}' },
      },
    });
  });

  it('legacy-idp (discover: off): static endpoints, no bad pkce or response_mode, required localpart', () => {
    expect(byIdp(parsed, 'oidc-legacy-idp')).toEqual({
      id: expect.any(String),
      synapse_idp_id: 'oidc-legacy-idp',
      human_name: 'Legacy IdP',
      issuer: 'https://idp.legacy.example/',
      discovery_mode: 'disabled',
      client_id: 'matrix',
      client_secret: 'legacy-idp-secret-93kdPq',
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid',
      pkce_method: 'auto',
      fetch_userinfo: false,
      authorization_endpoint: 'https://idp.legacy.example/oauth2/authorize',
      token_endpoint: 'https://idp.legacy.example/oauth2/token',
      userinfo_endpoint: 'https://idp.legacy.example/oauth2/userinfo',
      jwks_uri: 'https://idp.legacy.example/oauth2/jwks',
      on_backchannel_logout: 'do_nothing',
      claims_imports: {
        localpart: { action: 'require', template: '{{ user.uid }}' },
        displayname: { action: 'force', template: '{{ user.cn }}' },
      },
    });
    expect(only(result.findings, 'W_GENERATE_PKCE_METHOD')[0]?.details).toMatchObject({ key: 'oidc_providers[1].pkce_method', value: 'S256' });
    expect(only(result.findings, 'W_GENERATE_RESPONSE_MODE')[0]?.details).toMatchObject({
      key: 'oidc_providers[1].additional_authorization_parameters.response_mode',
      value: 'fragment',
    });
  });

  it('google: skip_verification gives insecure discovery; the template wins over subject_claim; filters are flagged', () => {
    const google = byIdp(parsed, 'oidc-google');
    expect(google).toMatchObject({
      brand_name: 'google',
      discovery_mode: 'insecure',
      token_endpoint_auth_method: 'client_secret_basic',
      client_secret: 'google-secret-Xy12Tt',
      fetch_userinfo: false,
      on_backchannel_logout: 'do_nothing',
      claims_imports: {
        subject: { template: '{{ user.sub }}' },
        localpart: { action: 'require', template: '{{ user.email | localpart_from_email }}' },
        displayname: { action: 'force', template: '{{ user.given_name }} {{ user.family_name }}' },
      },
    });
    expect(google.claims_imports).not.toHaveProperty('email');
    const [filter] = only(result.findings, 'W_GENERATE_JINJA_FILTER');
    expect(filter?.message).toContain('oidc_providers[2].user_mapping_provider.config.localpart_template');
    expect(filter?.details).toMatchObject({ filter: 'localpart_from_email' });
    expect(filter?.fix).toContain("split('@')");
    expect(only(result.findings, 'W_GENERATE_SUBJECT_TEMPLATE_AND_CLAIM')[0]?.message).toContain('oidc_providers[2]');
    expect(only(result.findings, 'W_GENERATE_PICTURE_TEMPLATE')[0]?.details).toMatchObject({
      key: 'oidc_providers[2].user_mapping_provider.config.picture_template',
    });
  });

  it('gitlab: client_secret_path becomes client_secret_file; restrictions MAS lacks are warned about', () => {
    const gitlab = byIdp(parsed, 'oidc-gitlab');
    expect(gitlab).toMatchObject({
      client_secret_file: '/etc/matrix-synapse/gitlab-client-secret',
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'openid read_user',
      claims_imports: { localpart: { action: 'require', template: '{{ user.nickname }}' } },
    });
    expect(gitlab).not.toHaveProperty('client_secret');
    const at = (code: string) => only(result.findings, code).map((f) => f.details?.key);
    expect(at('W_GENERATE_CLIENT_SECRET_PATH')).toEqual(['oidc_providers[3].client_secret_path']);
    expect(at('W_GENERATE_ATTRIBUTE_REQUIREMENTS')).toEqual(['oidc_providers[3].attribute_requirements']);
    expect(at('W_GENERATE_ID_TOKEN_SIGNING_ALGS')).toEqual(['oidc_providers[3].id_token_signing_alg_values_supported']);
    expect(at('W_GENERATE_PROVIDER_REGISTRATION_DISABLED')).toEqual(['oidc_providers[3].enable_registration']);
  });

  it('github: without the openid scope the profile comes from userinfo (fetch_userinfo true)', () => {
    expect(byIdp(parsed, 'oidc-github')).toMatchObject({
      brand_name: 'github',
      discovery_mode: 'disabled',
      scope: 'read:user',
      fetch_userinfo: true,
      authorization_endpoint: 'https://github.com/login/oauth/authorize',
      token_endpoint: 'https://github.com/login/oauth/access_token',
      userinfo_endpoint: 'https://api.github.com/user',
      claims_imports: {
        subject: { template: '{{ user.id }}' },
        localpart: { action: 'require', template: '{{ user.login }}' },
        displayname: { action: 'force', template: '{{ user.name }}' },
      },
    });
  });

  it('corp: a public client gets method none and no secret; a custom mapping module is warned about', () => {
    const corp = byIdp(parsed, 'oidc-corp');
    expect(corp).toMatchObject({ token_endpoint_auth_method: 'none', scope: 'openid', fetch_userinfo: false });
    expect(corp).not.toHaveProperty('client_secret');
    expect(corp).not.toHaveProperty('claims_imports');
    const [f] = only(result.findings, 'W_GENERATE_MAPPING_PROVIDER_MODULE');
    expect(f?.details).toMatchObject({ key: 'oidc_providers[5].user_mapping_provider.module', module: 'corp_synapse.CorpMappingProvider' });
  });

  it('apple: a JWT client secret cannot be carried, so the provider loads with method none and a warning', () => {
    const apple = byIdp(parsed, 'oidc-apple');
    expect(apple).toMatchObject({ token_endpoint_auth_method: 'none', scope: 'name email openid', claims_imports: { email: { action: 'force' } } });
    expect(apple).not.toHaveProperty('client_secret');
    const [f] = only(result.findings, 'W_GENERATE_CLIENT_SECRET_JWT_KEY');
    expect(f?.fix).toContain('sign_in_with_apple');
    expect(codes(result.findings)).not.toContain('W_GENERATE_CLIENT_SECRET_MISSING');
  });

  it('reports exactly these findings, well-formed and without secret values', () => {
    expect([...codes(result.findings)].sort()).toEqual(
      [
        'W_GENERATE_ENDPOINT_DEFAULT',
        'W_GENERATE_PUBLIC_BASE',
        'W_GENERATE_DATABASE',
        'W_GENERATE_EMAIL_NOT_CARRIED',
        'W_GENERATE_PKCE_METHOD',
        'W_GENERATE_RESPONSE_MODE',
        'W_GENERATE_JINJA_FILTER',
        'W_GENERATE_SUBJECT_TEMPLATE_AND_CLAIM',
        'W_GENERATE_PICTURE_TEMPLATE',
        'W_GENERATE_CLIENT_SECRET_PATH',
        'W_GENERATE_ATTRIBUTE_REQUIREMENTS',
        'W_GENERATE_ID_TOKEN_SIGNING_ALGS',
        'W_GENERATE_PROVIDER_REGISTRATION_DISABLED',
        'W_GENERATE_MAPPING_PROVIDER_MODULE',
        'W_GENERATE_PROVIDER_NO_CLIENT_ID',
        'W_GENERATE_CLIENT_SECRET_JWT_KEY',
      ].sort(),
    );
    expectWellFormed(result.findings);
  });
});

describe('generateMasConfig: Debian split config (homeserver.yaml + conf.d)', () => {
  const synapse = load(DEBIAN, DEBIAN_CONF_D);
  const result = generateMasConfig(synapse, OPTIONS);
  const parsed = parseYaml(result.yaml) as Record<string, unknown>;

  it('reads server_name and the database from conf.d, ignoring .yml files', () => {
    expect(synapse.files.map((f) => f.slice(f.lastIndexOf('debian/')))).toEqual([
      'debian/homeserver.yaml',
      'debian/conf.d/database.yaml',
      'debian/conf.d/server_name.yaml',
    ]);
    expect((parsed.matrix as Record<string, unknown>).homeserver).toBe('debian.example');
    expect(only(result.findings, 'W_GENERATE_DATABASE')[0]?.details).toMatchObject({
      synapseDatabase: { name: 'psycopg2', host: 'localhost', dbname: 'synapse' },
    });
  });

  it('lists every file read in the header', () => {
    for (const file of synapse.files) expect(result.yaml).toContain(`#   ${file}`);
  });

  it('is a valid MAS config with passwords on, registration off and no providers', () => {
    expect(validateMasConfig(parsed)).toEqual([]);
    expect(parsed.passwords).toEqual({
      enabled: true,
      schemes: [
        { version: 1, algorithm: 'bcrypt', unicode_normalization: true },
        { version: 2, algorithm: 'argon2id' },
      ],
    });
    expect(parsed.account).toEqual({ password_registration_enabled: false, displayname_change_allowed: true });
    expect(parsed).not.toHaveProperty('upstream_oauth2');
    expect(parsed).not.toHaveProperty('captcha');
  });

  it('generates a matrix secret when Synapse has none, and says to give it to Synapse', () => {
    expect((parsed.matrix as Record<string, unknown>).secret).toBe(SECRETS.matrixSecret);
    const [f] = only(result.findings, 'I_GENERATE_MATRIX_SECRET_NEW');
    expect(f?.severity).toBe('info');
    expect(f?.fix).toContain('matrix_authentication_service.secret');
    expectWellFormed(result.findings);
  });
});

describe('generateMasConfig: legacy oidc_config and logins MAS cannot take', () => {
  const synapse = load(LEGACY);
  const shared = Secret.fromString('shared-secret-read-from-file-Uu71');
  const result = generateMasConfig(synapse, { ...OPTIONS, sharedSecret: shared });
  const parsed = parseYaml(result.yaml) as Record<string, unknown>;

  it('is a valid MAS config', () => {
    expect(validateMasConfig(parsed)).toEqual([]);
  });

  it('maps the legacy block to synapse_idp_id oidc, treating the old module path as Jinja', () => {
    const providers = providersOf(parsed);
    expect(providers).toHaveLength(1);
    expect(providers[0]).toMatchObject({
      synapse_idp_id: 'oidc',
      issuer: 'https://login.legacy.example/',
      client_id: 'synapse-legacy',
      client_secret: 'legacy-oidc-secret-P0o9Lk',
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid email',
      discovery_mode: 'oidc',
      fetch_userinfo: false,
      on_backchannel_logout: 'do_nothing',
      claims_imports: {
        localpart: { action: 'require', template: '{{ user.email|localpart_from_email }}' },
        email: { action: 'force', template: '{{ user.email }}' },
      },
    });
    expect(codes(result.findings)).not.toContain('W_GENERATE_MAPPING_PROVIDER_MODULE');
    expect(only(result.findings, 'W_GENERATE_JINJA_FILTER')[0]?.details).toMatchObject({
      key: 'oidc_config.user_mapping_provider.config.localpart_template',
    });
  });

  it('warns about SAML, CAS, JWT, the LDAP password provider and consent tracking', () => {
    const keyOf = (code: string) => only(result.findings, code)[0]?.details?.key;
    expect(keyOf('W_GENERATE_SAML_NOT_CARRIED')).toBe('saml2_config');
    expect(keyOf('W_GENERATE_CAS_NOT_CARRIED')).toBe('cas_config');
    expect(keyOf('W_GENERATE_JWT_NOT_CARRIED')).toBe('jwt_config');
    expect(keyOf('W_GENERATE_USER_CONSENT_NOT_CARRIED')).toBe('user_consent');
    const [ldap] = only(result.findings, 'W_GENERATE_PASSWORD_PROVIDER_NOT_CARRIED');
    expect(ldap?.details).toMatchObject({ modules: ['ldap_auth_provider.LdapAuthProvider'] });
    expect(ldap?.message).toContain('ldap_auth_provider.LdapAuthProvider');
  });

  it('treats only_for_reauth as disabled, but keeps the schemes for the migrated hashes', () => {
    expect(parsed.passwords).toEqual({
      enabled: false,
      schemes: [
        { version: 1, algorithm: 'bcrypt', unicode_normalization: true },
        { version: 2, algorithm: 'argon2id' },
      ],
    });
    expect((parsed.account as Record<string, unknown>).password_registration_enabled).toBe(false);
    expect(only(result.findings, 'W_GENERATE_PASSWORDS_REAUTH_ONLY')[0]?.details).toMatchObject({ key: 'password_config.enabled' });
  });

  it('uses the shared secret read from secret_path', () => {
    expect((parsed.matrix as Record<string, unknown>).secret).toBe('shared-secret-read-from-file-Uu71');
    expect(codes(result.findings)).not.toContain('W_GENERATE_MATRIX_SECRET_UNREAD');
    expectWellFormed(result.findings);
    expect(JSON.stringify(result.findings)).not.toContain('shared-secret-read-from-file-Uu71');
  });

  it('warns when the secret_path file was not read, and uses a fresh secret', () => {
    const r = generateMasConfig(synapse, OPTIONS);
    expect((r.document.matrix as Record<string, unknown>).secret).toBe(SECRETS.matrixSecret);
    const [f] = only(r.findings, 'W_GENERATE_MATRIX_SECRET_UNREAD');
    expect(f?.details).toMatchObject({ key: 'matrix_authentication_service.secret_path', path: '/etc/matrix-synapse/mas-shared-secret' });
  });
});

describe('generateMasConfig: single settings', () => {
  function gen(value: Record<string, unknown>, options: Partial<GenerateOptions> = {}) {
    const result = generateMasConfig(parseSynapseConfig(sourced({ server_name: 'example.com', ...value })), { ...OPTIONS, ...options });
    expect(validateMasConfig(parseYaml(result.yaml))).toEqual([]);
    expectWellFormed(result.findings);
    return result;
  }
  function provider(fields: Record<string, unknown>) {
    const result = gen({ oidc_providers: [{ idp_id: 'idp', issuer: 'https://idp.example.com/', client_id: 'matrix', ...fields }] });
    return { p: providersOf(result.document)[0] as Provider, findings: result.findings };
  }

  it.each([
    [['openid', 'profile'], undefined, false],
    [['openid', 'profile'], 'auto', false],
    [['openid'], 'userinfo_endpoint', true],
    [['profile', 'email'], 'auto', true],
    [['profile'], undefined, true],
  ])('scopes %j with user_profile_method %s give fetch_userinfo %s', (scopes, method, expected) => {
    const { p } = provider({ scopes, ...(method === undefined ? {} : { user_profile_method: method }) });
    expect(p.fetch_userinfo).toBe(expected);
  });

  it('treats an unknown user_profile_method as auto, with a warning', () => {
    const { p, findings } = provider({ user_profile_method: 'id_token' });
    expect(p.fetch_userinfo).toBe(false);
    expect(only(findings, 'W_GENERATE_USER_PROFILE_METHOD')[0]?.details).toMatchObject({ value: 'id_token' });
  });

  it.each([
    [{ client_secret: 'inline-secret-1aA' }, 'client_secret_basic', true],
    [{}, 'none', false],
    [{ client_auth_method: 'none', client_secret: 'inline-secret-2bB' }, 'none', false],
    [{ client_auth_method: 'client_secret_post', client_secret: 'inline-secret-3cC' }, 'client_secret_post', true],
  ])('client auth %j gives %s', (fields, method, hasSecret) => {
    const { p } = provider(fields);
    expect(p.token_endpoint_auth_method).toBe(method);
    expect('client_secret' in p).toBe(hasSecret);
  });

  it('falls back to none when a secret method has no secret', () => {
    const { p, findings } = provider({ client_auth_method: 'client_secret_basic' });
    expect(p.token_endpoint_auth_method).toBe('none');
    expect(only(findings, 'W_GENERATE_CLIENT_SECRET_MISSING')[0]?.details).toMatchObject({ wanted: 'client_secret_basic' });
  });

  it('does not take a client_auth_method Synapse itself would reject', () => {
    const { p, findings } = provider({ client_auth_method: 'private_key_jwt', client_secret: 'inline-secret-4dD' });
    expect(p.token_endpoint_auth_method).toBe('client_secret_basic');
    expect(only(findings, 'W_GENERATE_CLIENT_AUTH_METHOD')[0]?.details).toMatchObject({ value: 'private_key_jwt', used: 'client_secret_basic' });
  });

  it('drops scope tokens MAS cannot send', () => {
    const { p, findings } = provider({ scopes: ['openid', 'profile email', 'groups'] });
    expect(p.scope).toBe('openid groups');
    expect(only(findings, 'W_GENERATE_SCOPE_INVALID')[0]?.details).toMatchObject({ dropped: ['profile email'] });
  });

  it('keeps a provider Synapse has disabled, enabled, so its links migrate', () => {
    const { p, findings } = provider({ enabled: false, client_secret: 'inline-secret-5eE' });
    expect(p).not.toHaveProperty('enabled');
    expect(only(findings, 'W_GENERATE_PROVIDER_DISABLED')).toHaveLength(1);
  });

  it('leaves out an endpoint that is not an absolute URL', () => {
    const { p, findings } = provider({ discover: false, authorization_endpoint: '/oauth2/authorize', token_endpoint: 'https://idp.example.com/token' });
    expect(p).not.toHaveProperty('authorization_endpoint');
    expect(p.token_endpoint).toBe('https://idp.example.com/token');
    expect(only(findings, 'W_GENERATE_PROVIDER_URL_INVALID')[0]?.details).toMatchObject({ value: '/oauth2/authorize' });
  });

  it('flags extra authorization parameters that MAS would render as templates', () => {
    const { p, findings } = provider({ additional_authorization_parameters: { claims: '{{"id_token":{"acr":null}}}', prompt: 'login' } });
    expect(p.additional_authorization_parameters).toEqual({ claims: '{{"id_token":{"acr":null}}}', prompt: 'login' });
    expect(only(findings, 'W_GENERATE_AUTH_PARAM_TEMPLATE').map((f) => f.details?.key)).toEqual([
      'oidc_providers[0].additional_authorization_parameters.claims',
    ]);
  });

  it('keeps response_mode query and forward_login_hint', () => {
    const { p } = provider({ additional_authorization_parameters: { response_mode: 'query' }, forward_login_hint: true });
    expect(p.response_mode).toBe('query');
    expect(p).not.toHaveProperty('additional_authorization_parameters');
    expect(p.forward_login_hint).toBe(true);
  });

  it('quotes a subject_claim that is not a plain name', () => {
    const { p } = provider({ user_mapping_provider: { config: { subject_claim: 'https://idp.example.com/uid' } } });
    expect(p.claims_imports).toEqual({ subject: { template: '{{ user["https://idp.example.com/uid"] }}' } });
  });

  it('spots the filter in a {% filter %} block too', () => {
    const { findings } = provider({
      user_mapping_provider: { config: { localpart_template: '{% filter localpart_from_email %}{{ user.mail }}{% endfilter %}' } },
    });
    expect(only(findings, 'W_GENERATE_JINJA_FILTER')).toHaveLength(1);
  });

  it('without public_baseurl still warns about endpoint and public_base', () => {
    const r = gen({});
    expect(only(r.findings, 'W_GENERATE_ENDPOINT_DEFAULT')[0]?.details).not.toHaveProperty('synapsePublicBaseurl');
    expect(only(r.findings, 'W_GENERATE_PUBLIC_BASE')).toHaveLength(1);
  });

  it('disables passwords when Synapse does', () => {
    const r = gen({ password_config: { enabled: false }, enable_registration: true, registration_requires_token: true });
    expect((r.document.passwords as Record<string, unknown>).enabled).toBe(false);
    expect(r.document.account).toEqual({ password_registration_enabled: false, displayname_change_allowed: true });
  });

  it('warns when a captcha is on without its keys', () => {
    const r = gen({ enable_registration: true, enable_registration_captcha: true, recaptcha_public_key: 'site-key-only' });
    expect(r.document.captcha).toEqual({ service: 'recaptcha_v2', site_key: 'site-key-only' });
    expect(only(r.findings, 'W_GENERATE_CAPTCHA_KEYS_MISSING')[0]?.details).toMatchObject({ missing: ['recaptcha_private_key'] });
  });

  it('warns when homeserver.yaml already delegates to MAS', () => {
    const r = gen({ matrix_authentication_service: { enabled: true, secret: 'already-switched-secret-9Zz' }, password_config: { enabled: false } });
    expect(only(r.findings, 'W_GENERATE_ALREADY_MIGRATED')[0]?.details).toMatchObject({ key: 'matrix_authentication_service.enabled' });
    expect((r.document.matrix as Record<string, unknown>).secret).toBe('already-switched-secret-9Zz');
  });

  it('quotes strings YAML 1.1 would read as booleans', () => {
    const r = gen({ oidc_providers: [{ idp_id: 'x', issuer: 'https://x.example/', client_id: 'yes', client_secret: 'off' }] });
    expect(r.yaml).toContain('client_id: "yes"');
    expect(parseYaml(r.yaml, { version: '1.1' })).toEqual(parseYaml(r.yaml));
  });

  it('refuses a `now` that would make the ids depend on the clock', () => {
    expect(() => generateMasConfig(parseSynapseConfig(sourced({ server_name: 'example.com', oidc_providers: [{ idp_id: 'x', issuer: 'https://x.example/', client_id: 'c' }] })), { ...OPTIONS, now: new Date(Number.NaN) })).toThrow(RangeError);
  });
});

describe('the structural MAS config check used above', () => {
  it('catches what MAS would refuse', () => {
    const good = generateMasConfig(load(SSO), OPTIONS).document;
    expect(validateMasConfig(good)).toEqual([]);
    const bad = structuredClone(good) as Record<string, any>;
    delete bad.matrix;
    bad.secrets.encryption = 'not-hex';
    bad.secrets.keys = [{ key: SECRETS.ecP256PrivateKeyPem }];
    bad.http.public_base = 'not a url';
    bad.passwords.schemes[1].version = 1;
    bad.passwords.schemes[0].algorithm = 'md5';
    const [p0, p1, p2] = bad.upstream_oauth2.providers;
    p0.id = 'not-a-ulid';
    p1.token_endpoint_auth_method = 'none';
    delete p2.client_secret;
    bad.upstream_oauth2.providers[3].token_endpoint_auth_method = 'client_secret_magic';
    bad.upstream_oauth2.providers[4].claims_imports.localpart.action = 'maybe';
    const problems = validateMasConfig(bad);
    for (const expected of [
      'matrix: is required',
      'secrets.encryption: must be 64 hex characters',
      'secrets.keys: needs at least one RSA key',
      'http.public_base: is required and must be a URL',
      'passwords.schemes[1].version: duplicates version 1',
      'passwords.schemes[0].algorithm: must be one of',
      'upstream_oauth2.providers[0].id: is required, a ULID',
      'upstream_oauth2.providers[1]: none must not have a client secret',
      'upstream_oauth2.providers[2]: client_secret_basic needs client_secret or client_secret_file',
      'upstream_oauth2.providers[3].token_endpoint_auth_method: is required, one of',
      'upstream_oauth2.providers[4].claims_imports.localpart.action: must be one of',
    ]) {
      expect(problems.some((p) => p.startsWith(expected)), `${expected}\n  in ${problems.join('\n  ')}`).toBe(true);
    }
  });
});

describe('mas-tool config generate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mas-tool-generate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const expectNoSecrets = (text: string, extra: string[] = []): void => {
    for (const secret of [...FIXTURE_SECRETS, ...extra]) expect(text).not.toContain(secret);
  };

  it('writes the config to --output with mode 0600 and prints only warnings', async () => {
    const out = join(dir, 'config.yaml');
    const r = await run(['config', 'generate', '--synapse-config', SSO, '--output', out]);
    expect(r.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const written = parseYaml(readFileSync(out, 'utf8')) as Record<string, unknown>;
    expect(validateMasConfig(written)).toEqual([]);
    expect((written.matrix as Record<string, unknown>).secret).toBe('shared-secret-from-synapse-Hh28pQ');
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`Wrote the MAS configuration to ${out}`);
    expect(r.stderr).toContain('W_GENERATE_PUBLIC_BASE');
    expect(r.stderr).toContain('W_GENERATE_JINJA_FILTER');
    const secrets = written.secrets as { encryption: string };
    expectNoSecrets(r.stdout + r.stderr, [secrets.encryption]);
    expect(r.stderr).not.toContain('PRIVATE KEY');
  });

  it('refuses to replace an existing file without --force, and leaves it alone', async () => {
    const out = join(dir, 'existing.yaml');
    expect((await run(['config', 'generate', '--synapse-config', SSO, '--output', out])).code).toBe(0);
    const before = readFileSync(out, 'utf8');

    const plain = await run(['config', 'generate', '--synapse-config', SSO, '--output', out]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('already exists');
    expect(plain.stderr).toContain('--force');

    const json = await run(['--json', 'config', 'generate', '--synapse-config', SSO, '--output', out]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'MAS_TOOL_FILE_EXISTS' } });
    expect(readFileSync(out, 'utf8')).toBe(before);

    const forced = await run(['config', 'generate', '--synapse-config', SSO, '--output', out, '--force']);
    expect(forced.code).toBe(0);
    const after = readFileSync(out, 'utf8');
    expect(after).not.toBe(before);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    // Fresh keys on each run.
    const enc = (text: string) => ((parseYaml(text) as Record<string, Record<string, unknown>>).secrets?.encryption as string);
    expect(enc(after)).not.toBe(enc(before));
  });

  it('reads the shared secret from secret_path, and reports findings as JSON with --json', async () => {
    // The legacy fixture, with secret_path pointing at a file that exists.
    const secretFile = join(dir, 'mas-shared-secret');
    writeFileSync(secretFile, 'shared-secret-in-a-file-Ff42\n', { mode: 0o600 });
    const homeserver = join(dir, 'legacy-homeserver.yaml');
    writeFileSync(homeserver, readFileSync(LEGACY, 'utf8').replace('/etc/matrix-synapse/mas-shared-secret', secretFile));
    const out = join(dir, 'json.yaml');
    const r = await run(['--json', 'config', 'generate', '--synapse-config', homeserver, '--output', out]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; output: string; findings: Finding[] };
    expect(report.ok).toBe(true);
    expect(report.output).toBe(out);
    expect(codes(report.findings)).toEqual(expect.arrayContaining(['W_GENERATE_SAML_NOT_CARRIED', 'W_GENERATE_PASSWORDS_REAUTH_ONLY']));
    expect(codes(report.findings)).not.toContain('W_GENERATE_MATRIX_SECRET_UNREAD');
    const written = parseYaml(readFileSync(out, 'utf8')) as Record<string, Record<string, unknown>>;
    expect(written.matrix?.secret).toBe('shared-secret-in-a-file-Ff42');
    expectNoSecrets(r.stdout + r.stderr, ['shared-secret-in-a-file-Ff42']);
  });

  it('fails clearly when secret_path cannot be read, writing nothing', async () => {
    const out = join(dir, 'unreadable.yaml');
    const r = await run(['config', 'generate', '--synapse-config', LEGACY, '--output', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('matrix_authentication_service.secret_path');
    expect(existsSync(out)).toBe(false);
  });

  it('reads a Debian conf.d directory', async () => {
    const out = join(dir, 'debian.yaml');
    const r = await run(['config', 'generate', '--synapse-config', DEBIAN, '--synapse-config', DEBIAN_CONF_D, '--output', out]);
    expect(r.code).toBe(0);
    const written = parseYaml(readFileSync(out, 'utf8')) as Record<string, Record<string, unknown>>;
    expect(written.matrix?.homeserver).toBe('debian.example');
  });

  it('writes the YAML to stdout without --output', async () => {
    const r = await run(['config', 'generate', '--synapse-config', DEBIAN, '--synapse-config', DEBIAN_CONF_D]);
    expect(r.code).toBe(0);
    expect(validateMasConfig(parseYaml(r.stdout))).toEqual([]);
    expect(r.stderr).toContain('I_GENERATE_MATRIX_SECRET_NEW');
  });

  it('needs --output for --json', async () => {
    const r = await run(['--json', 'config', 'generate', '--synapse-config', SSO]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'MAS_TOOL_USAGE' } });
  });
});
