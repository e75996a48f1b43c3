import { describe, expect, it } from 'vitest';
import { parseMasConfig } from '../../src/config/mas.js';
import { ConfigError } from '../../src/errors.js';
import { sourced } from '../helpers/config.js';

const PROVIDER = '01H8PKNWKKRPCBW4YGH1RWV279';
const CLIENT = '01J44RKQYM4G3TNVANTMTDYTX6';

function parse(doc: Record<string, unknown>) {
  return parseMasConfig(sourced(doc, 'mas.yaml'));
}

function problems(doc: Record<string, unknown>) {
  try {
    parse(doc);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => `${p.file}: ${p.key}: ${p.message}`);
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('parseMasConfig', () => {
  it('applies MAS defaults to an empty config', () => {
    const c = parse({});
    expect(c.matrix).toEqual({ homeserver: 'localhost:8008', endpoint: 'http://localhost:8008/', kind: 'synapse' });
    expect(c.passwords.enabled).toBe(true);
    expect(c.passwords.schemes).toEqual([{ version: 1, algorithm: 'argon2id', unicodeNormalization: false, keyPath: 'passwords.schemes' }]);
    expect(c.database.fields).toEqual({});
  });

  it('reads database.uri into connection fields', () => {
    const c = parse({ database: { uri: 'postgresql://mas:pw@db.internal:5433/mas?sslmode=require' } });
    expect(c.database.fields).toMatchObject({ host: 'db.internal', port: 5433, user: 'mas', database: 'mas', sslmode: 'require' });
    expect(c.database.fields.password?.reveal()).toBe('pw');
  });

  it('reads split database fields, password_file and TLS files', () => {
    const c = parse({
      database: { host: 'db', port: 5432, username: 'mas', password_file: '/run/pw', database: 'mas', ssl_mode: 'verify-full', ssl_ca_file: '/ca.pem' },
    });
    expect(c.database.fields).toMatchObject({ host: 'db', port: 5432, user: 'mas', database: 'mas', sslmode: 'verify-full', sslrootcert: '/ca.pem' });
    expect(c.database.passwordFile).toMatchObject({ kind: 'file', path: '/run/pw', key: 'database.password_file' });
  });

  it('rejects uri mixed with split fields, naming file and key', () => {
    expect(problems({ database: { uri: 'postgresql:///mas', host: 'db' } })).toEqual([
      'mas.yaml: database.uri: cannot be combined with database.host; use either uri or the split keys',
    ]);
  });

  it('reads matrix, with a secret or a secret_file', () => {
    const c = parse({ matrix: { homeserver: 'example.com', endpoint: 'http://synapse:8008/', secret: 'shared' } });
    expect(c.matrix.homeserver).toBe('example.com');
    expect(c.matrix.secret?.kind === 'inline' && c.matrix.secret.value.reveal()).toBe('shared');
    expect(parse({ matrix: { secret_file: '/s' } }).matrix.secret).toMatchObject({ kind: 'file', path: '/s' });
    expect(problems({ matrix: { kind: 'dendrite' } })[0]).toMatch(/^mas\.yaml: matrix\.kind: expected one of synapse/);
  });

  it('tells to quote a secret that YAML read as a number', () => {
    const [message] = problems({ matrix: { secret: 1234567 } });
    expect(message).toMatch(/^mas\.yaml: matrix\.secret: YAML read this secret as a number/);
    expect(message).toMatch(/quotes/);
    expect(message).not.toContain('1234567');
  });

  it('sorts password schemes highest version first and keeps the pepper source', () => {
    const c = parse({
      passwords: {
        schemes: [
          { version: 1, algorithm: 'bcrypt', cost: 12, secret: 'pepper', unicode_normalization: true },
          { version: 2, algorithm: 'argon2id' },
        ],
      },
    });
    expect(c.passwords.schemes.map((s) => [s.version, s.algorithm])).toEqual([
      [2, 'argon2id'],
      [1, 'bcrypt'],
    ]);
    expect(c.passwords.schemes[1]).toMatchObject({ cost: 12, unicodeNormalization: true, secret: { kind: 'inline' } });
  });

  it('rejects duplicate scheme versions, unknown algorithms and an empty scheme list', () => {
    expect(problems({ passwords: { schemes: [{ version: 1, algorithm: 'bcrypt' }, { version: 1, algorithm: 'argon2id' }] } })).toEqual([
      'mas.yaml: passwords.schemes[1].version: version 1 is used by two schemes; versions must be unique',
    ]);
    expect(problems({ passwords: { schemes: [{ version: 1, algorithm: 'md5' }] } })[0]).toMatch(/passwords\.schemes\[0\]\.algorithm: expected one of bcrypt/);
    expect(problems({ passwords: { schemes: [] } })).toEqual(['mas.yaml: passwords.schemes: must list at least one password scheme']);
  });

  it('reads upstream providers with their synapse_idp_id', () => {
    const c = parse({
      upstream_oauth2: {
        providers: [
          { id: PROVIDER, synapse_idp_id: 'oidc-github', issuer: 'https://github.com/', client_id: 'gh', client_secret: 's', token_endpoint_auth_method: 'client_secret_basic', enabled: false },
        ],
      },
    });
    expect(c.upstreamProviders).toEqual([
      {
        id: PROVIDER,
        keyPath: 'upstream_oauth2.providers[0]',
        enabled: false,
        synapseIdpId: 'oidc-github',
        issuer: 'https://github.com/',
        clientId: 'gh',
        tokenEndpointAuthMethod: 'client_secret_basic',
        discoveryMode: 'oidc',
      },
    ]);
  });

  it('rejects a provider id that is not a ULID and a provider without client_id', () => {
    expect(problems({ upstream_oauth2: { providers: [{ id: 'github', token_endpoint_auth_method: 'none' }] } })).toEqual([
      'mas.yaml: upstream_oauth2.providers[0].id: "github" is not a ULID (26 characters of Crockford base32)',
      'mas.yaml: upstream_oauth2.providers[0].client_id: is required',
    ]);
  });

  it('reads http, clients and policy data for the admin API', () => {
    const c = parse({
      http: {
        public_base: 'https://auth.example.com/',
        listeners: [{ name: 'web', resources: [{ name: 'discovery' }, { name: 'adminapi' }], binds: [{ address: '[::]:8080' }] }],
      },
      clients: [{ client_id: CLIENT, client_auth_method: 'client_secret_basic', client_secret: 'client-secret' }],
      policy: { data: { admin_clients: [CLIENT], admin_users: ['alice'] } },
    });
    expect(c.http.issuer).toBe('https://auth.example.com/');
    expect(c.http.listeners[0]).toEqual({ name: 'web', resources: ['discovery', 'adminapi'], binds: [{ address: '[::]:8080' }] });
    expect(c.clients[0]).toMatchObject({ clientId: CLIENT, authMethod: 'client_secret_basic', secret: { kind: 'inline' } });
    expect(c.policyData).toEqual({ adminClients: [CLIENT], adminUsers: ['alice'] });
  });

  it('prefers http.issuer over public_base', () => {
    expect(parse({ http: { public_base: 'https://a/', issuer: 'https://b/' } }).http.issuer).toBe('https://b/');
  });

  it('validates secrets.encryption and keys', () => {
    expect(parse({ secrets: { encryption: 'a'.repeat(64), keys: [{ key: 'PEM' }] } }).secrets).toEqual({ hasEncryption: true, keyCount: 1, hasKeysDir: false });
    expect(problems({ secrets: { encryption: 'short', keys: [{}] } })).toEqual([
      'mas.yaml: secrets.encryption: must be 32 bytes written as 64 hexadecimal characters (generate one with `openssl rand -hex 32`)',
      'mas.yaml: secrets.keys[0]: needs exactly one of key (inline PEM) or key_file',
    ]);
  });

  it('reads captcha.service and branding.tos_uri', () => {
    const c = parse({ captcha: { service: 'recaptcha_v2' }, branding: { tos_uri: 'https://example.com/tos' } });
    expect(c.captchaService).toBe('recaptcha_v2');
    expect(c.tosUri).toBe('https://example.com/tos');
  });
});
