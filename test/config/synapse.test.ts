import { describe, expect, it } from 'vitest';
import { parseSynapseConfig, synapseIdpId } from '../../src/config/synapse.js';
import { ConfigError } from '../../src/errors.js';
import { sourced } from '../helpers/config.js';

const base = {
  server_name: 'example.com',
  database: { name: 'psycopg2', args: { user: 'synapse', password: 'db-pass', dbname: 'synapse', host: 'db', port: 5432 } },
};

function parse(extra: Record<string, unknown> = {}) {
  return parseSynapseConfig(sourced({ ...base, ...extra }));
}

function problemsOf(fn: () => unknown): Array<{ file?: string; key: string; message: string }> {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('parseSynapseConfig', () => {
  it('reads the database connection from database.args', () => {
    const c = parse();
    expect(c.serverName).toBe('example.com');
    expect(c.database?.name).toBe('psycopg2');
    expect(c.database?.args).toMatchObject({ user: 'synapse', dbname: 'synapse', host: 'db', port: 5432 });
    expect(c.database?.args.password?.reveal()).toBe('db-pass');
  });

  it('accepts the psycopg2 alias `database` for dbname, and a port given as a string', () => {
    const c = parse({ database: { name: 'psycopg2', args: { database: 'syn', port: '6432' } } });
    expect(c.database?.args.dbname).toBe('syn');
    expect(c.database?.args.port).toBe(6432);
  });

  it('rejects dbname and database together, naming the key', () => {
    const problems = problemsOf(() => parse({ database: { name: 'psycopg2', args: { dbname: 'a', database: 'b' } } }));
    expect(problems).toEqual([
      { file: 'homeserver.yaml', key: 'database.args.database', message: 'is an alias of `dbname`; set only one of the two' },
    ]);
  });

  it('reads TLS and passfile settings and rejects an unknown sslmode', () => {
    const c = parse({
      database: { name: 'psycopg2', args: { sslmode: 'verify-full', sslrootcert: '/ca.pem', sslcert: '/c.pem', sslkey: '/k.pem', passfile: '/pgpass' } },
    });
    expect(c.database?.args).toMatchObject({ sslmode: 'verify-full', sslrootcert: '/ca.pem', sslcert: '/c.pem', sslkey: '/k.pem', passfile: '/pgpass' });
    const problems = problemsOf(() => parse({ database: { name: 'psycopg2', args: { sslmode: 'sometimes' } } }));
    expect(problems[0]?.key).toBe('database.args.sslmode');
  });

  it('takes the `databases` entry that holds the main data store', () => {
    const c = parse({
      database: undefined,
      databases: {
        state: { name: 'psycopg2', data_stores: ['state'], args: { dbname: 'state' } },
        main: { name: 'psycopg2', data_stores: ['main'], args: { dbname: 'main_db' } },
      },
    });
    expect(c.database?.args.dbname).toBe('main_db');
    expect(c.database?.keyPath).toBe('databases.main');
  });

  it('records SQLite, Synapse\'s default, without failing the parse', () => {
    expect(parse({ database: { name: 'sqlite3', args: { database: '/data/homeserver.db' } } }).database?.name).toBe('sqlite3');
    expect(parse({ database: undefined }).database).toBeUndefined();
  });

  it('requires server_name', () => {
    const problems = problemsOf(() => parseSynapseConfig(sourced({ database: base.database })));
    expect(problems.map((p) => p.key)).toEqual(['server_name']);
  });

  it('collects every problem at once', () => {
    const problems = problemsOf(() =>
      parse({ allow_guest_access: 'maybe', bcrypt_rounds: 'lots', oidc_providers: 'none', password_config: { pepper: 12345 } }),
    );
    expect(problems.map((p) => p.key).sort()).toEqual(['allow_guest_access', 'bcrypt_rounds', 'oidc_providers', 'password_config.pepper']);
  });

  it('says to quote a secret that YAML read as a number, without printing it', () => {
    const problems = problemsOf(() => parse({ password_config: { pepper: 123456 } }));
    expect(problems[0]?.message).toMatch(/put the value in quotes/i);
    expect(problems[0]?.message).not.toContain('123456');
  });

  it('applies Synapse defaults', () => {
    const c = parse();
    expect(c.passwordConfig).toEqual({ enabled: true, localdbEnabled: true });
    expect(c.allowGuestAccess).toBe(false);
    expect(c.enableRegistration).toBe(false);
    expect(c.enable3pidChanges).toBeUndefined();
    expect(c.enableSetDisplayname).toBe(true);
    expect(c.userConsent).toBe(false);
    expect(c.casEnabled || c.saml2Enabled || c.jwtEnabled).toBe(false);
    expect(c.oidcProviders).toEqual([]);
  });

  it('reads password_config including only_for_reauth and the pepper', () => {
    const c = parse({ password_config: { enabled: 'only_for_reauth', localdb_enabled: false, pepper: 'pep' } });
    expect(c.passwordConfig.enabled).toBe('only_for_reauth');
    expect(c.passwordConfig.localdbEnabled).toBe(false);
    expect(c.passwordConfig.pepper?.reveal()).toBe('pep');
  });

  it('defaults password login to off once Synapse delegates to MAS, as Synapse does', () => {
    expect(parse({ matrix_authentication_service: { enabled: true, secret: 'abcd' } }).passwordConfig.enabled).toBe(false);
    expect(parse({ matrix_authentication_service: { enabled: false } }).passwordConfig.enabled).toBe(true);
  });

  it('reads registration flags through strtobool, like Synapse', () => {
    expect(parse({ enable_registration: 'yes' }).enableRegistration).toBe(true);
    expect(parse({ enable_registration: 'off' }).enableRegistration).toBe(false);
    expect(parse({ disable_registration: false }).enableRegistration).toBe(true);
  });

  it('treats SAML as enabled the way Synapse does', () => {
    expect(parse({ saml2_config: { sp_config: {} } }).saml2Enabled).toBe(true);
    expect(parse({ saml2_config: { config_path: '/saml.py' } }).saml2Enabled).toBe(true);
    expect(parse({ saml2_config: { sp_config: {}, enabled: false } }).saml2Enabled).toBe(false);
    expect(parse({ saml2_config: { enabled: true } }).saml2Enabled).toBe(true);
    expect(parse({ saml2_config: {} }).saml2Enabled).toBe(false);
  });

  it('treats CAS as enabled when its section is present and not switched off; an empty section is off', () => {
    expect(parse({ cas_config: { server_url: 'https://cas' } }).casEnabled).toBe(true);
    expect(parse({ cas_config: { server_url: 'https://cas', enabled: false } }).casEnabled).toBe(false);
    expect(parse({ cas_config: null }).casEnabled).toBe(false);
  });

  it('lists password providers, including an enabled legacy ldap_config', () => {
    const c = parse({ password_providers: [{ module: 'ldap_auth_provider.LdapAuthProvider', config: {} }], ldap_config: { enabled: true } });
    expect(c.passwordProviders).toEqual(['ldap_auth_provider.LdapAuthProvider', 'ldap_auth_provider.LdapAuthProvider']);
  });

  it('derives the ids Synapse records for OIDC providers', () => {
    expect(synapseIdpId(undefined)).toBe('oidc');
    expect(synapseIdpId('oidc')).toBe('oidc');
    expect(synapseIdpId('keycloak')).toBe('oidc-keycloak');
    const c = parse({
      oidc_config: { enabled: true, issuer: 'https://legacy', client_id: 'legacy' },
      oidc_providers: [
        { idp_id: 'github', idp_name: 'GitHub', issuer: 'https://github.com/', client_id: 'gh', scopes: ['read:user'] },
        { idp_id: 'keycloak', idp_name: 'KC', issuer: 'https://kc/realms/x', client_id: 'kc', client_secret: 'kc-secret' },
      ],
    });
    expect(c.oidcProviders.map((p) => [p.idpId, p.keyPath])).toEqual([
      ['oidc', 'oidc_config'],
      ['oidc-github', 'oidc_providers[0]'],
      ['oidc-keycloak', 'oidc_providers[1]'],
    ]);
    expect(c.oidcProviders[1]?.scopes).toEqual(['read:user']);
    expect(c.oidcProviders[2]?.scopes).toEqual(['openid']);
    expect(c.oidcProviders[2]?.clientSecret?.reveal()).toBe('kc-secret');
  });

  it('ignores a legacy oidc_config without issuer and client_id, and lets a later provider with the same id win', () => {
    const c = parse({
      oidc_config: {},
      oidc_providers: [
        { idp_id: 'x', issuer: 'https://first', client_id: 'a' },
        { idp_id: 'x', issuer: 'https://second', client_id: 'b' },
      ],
    });
    expect(c.oidcProviders).toHaveLength(1);
    expect(c.oidcProviders[0]?.issuer).toBe('https://second');
  });

  it('reads the user mapping provider templates', () => {
    const c = parse({
      oidc_providers: [
        {
          idp_id: 'kc',
          issuer: 'https://kc',
          client_id: 'kc',
          user_mapping_provider: {
            config: { subject_claim: 'id', localpart_template: '{{ user.preferred_username }}', confirm_localpart: true },
          },
        },
      ],
    });
    const m = c.oidcProviders[0]?.userMappingProvider;
    expect(m).toMatchObject({ isJinja: true, subjectClaim: 'id', localpartTemplate: '{{ user.preferred_username }}', confirmLocalpart: true });
  });

  it('reads the MAS integration and the legacy msc3861 block', () => {
    const c = parse({
      matrix_authentication_service: { enabled: true, endpoint: 'http://mas:8080/', secret_path: '/run/secrets/mas' },
      experimental_features: { msc3861: { enabled: true, issuer: 'https://auth.example.com/', admin_token: 'tok-en' } },
    });
    expect(c.mas).toMatchObject({ enabled: true, endpoint: 'http://mas:8080/', secret: { kind: 'file', path: '/run/secrets/mas' } });
    expect(c.msc3861).toMatchObject({ enabled: true, issuer: 'https://auth.example.com/' });
    expect(c.msc3861?.adminToken?.kind).toBe('inline');
  });

  it('rejects secret and secret_path together', () => {
    const problems = problemsOf(() => parse({ matrix_authentication_service: { secret: 'abcd', secret_path: '/x' } }));
    expect(problems[0]?.key).toBe('matrix_authentication_service.secret_path');
  });

  it('normalises public_baseurl with a trailing slash and notes token lifetime options', () => {
    const c = parse({ public_baseurl: 'https://matrix.example.com', session_lifetime: '24h' });
    expect(c.publicBaseurl).toBe('https://matrix.example.com/');
    expect(c.tokenLifetimeKeys).toEqual(['session_lifetime']);
  });

  it('never serialises a secret', () => {
    const c = parse({ password_config: { pepper: 'pepper-value' }, oidc_providers: [{ idp_id: 'a', issuer: 'i', client_id: 'c', client_secret: 'client-secret-value' }] });
    const text = JSON.stringify(c);
    expect(text).not.toContain('pepper-value');
    expect(text).not.toContain('client-secret-value');
    expect(text).not.toContain('db-pass');
  });
});
