import { describe, expect, it } from 'vitest';
import { parseMasConfig } from '../../src/config/mas.js';
import { parseSynapseConfig } from '../../src/config/synapse.js';
import { checkProviders, type ProviderCheckInput } from '../../src/syn2mas/checks/providers.js';
import { sourced } from '../helpers/config.js';

const GITHUB = '01H8PKNWKKRPCBW4YGH1RWV279';
const KEYCLOAK = '01H8PKNWKKRPCBW4YGH1RWV27A';

const synapse = parseSynapseConfig(
  sourced({
    server_name: 'example.com',
    oidc_providers: [
      { idp_id: 'github', issuer: 'https://github.com/', client_id: 'gh-client' },
      { idp_id: 'keycloak', issuer: 'https://kc.example.com/realms/main', client_id: 'synapse' },
    ],
  }),
);

function masProviders(providers: Array<Record<string, unknown>>) {
  return parseMasConfig(sourced({ upstream_oauth2: { providers } }, 'mas.yaml')).upstreamProviders;
}

const mapped = masProviders([
  { id: GITHUB, synapse_idp_id: 'oidc-github', issuer: 'https://github.com/', client_id: 'gh-client', token_endpoint_auth_method: 'client_secret_basic', client_secret: 'x' },
  { id: KEYCLOAK, synapse_idp_id: 'oidc-keycloak', issuer: 'https://kc.example.com/realms/main', client_id: 'mas', token_endpoint_auth_method: 'client_secret_basic', client_secret: 'x' },
]);

function input(over: Partial<ProviderCheckInput>): ProviderCheckInput {
  return {
    externalIds: [
      { authProvider: 'oidc-github', rows: 3, users: 3 },
      { authProvider: 'oidc-keycloak', rows: 5, users: 4 },
    ],
    synapseProviders: synapse.oidcProviders,
    masProviders: mapped,
    explicitMapping: new Map(),
    ignoreMissingAuthProviders: false,
    masDatabaseProviders: [
      { id: GITHUB, disabled: false },
      { id: KEYCLOAK, disabled: false },
    ],
    ...over,
  };
}

describe('checkProviders', () => {
  it('maps every provider by synapse_idp_id when all is in place', () => {
    const r = checkProviders(input({}));
    expect(r.findings).toEqual([]);
    expect([...r.mapping]).toEqual([
      ['oidc-github', GITHUB],
      ['oidc-keycloak', KEYCLOAK],
    ]);
  });

  it('E_OAUTH_DELEGATED_ROWS: shows the cleanup SQL and never maps those rows', () => {
    const r = checkProviders(input({ externalIds: [{ authProvider: 'oauth-delegated', rows: 7, users: 7 }] }));
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({
      code: 'E_OAUTH_DELEGATED_ROWS',
      severity: 'error',
      details: { users: 7, sql: "DELETE FROM user_external_ids WHERE auth_provider = 'oauth-delegated';" },
    });
    expect(r.mapping.size).toBe(0);
  });

  it('E_SYNAPSE_PROVIDER_UNKNOWN: an error, or a warning that skips the links with --ignore-missing-auth-providers', () => {
    const ids = [{ authProvider: 'saml', rows: 2, users: 2 }];
    const strict = checkProviders(input({ externalIds: ids }));
    expect(strict.findings.map((f) => [f.code, f.severity])).toEqual([['E_SYNAPSE_PROVIDER_UNKNOWN', 'error']]);
    expect(strict.findings[0]?.fix).toMatch(/only OIDC upstreams/);
    const lenient = checkProviders(input({ externalIds: ids, ignoreMissingAuthProviders: true }));
    expect(lenient.findings.map((f) => [f.code, f.severity])).toEqual([['E_SYNAPSE_PROVIDER_UNKNOWN', 'warning']]);
    expect([...lenient.skipped]).toEqual([['saml', 2]]);
  });

  it('an explicit mapping makes an unknown provider known', () => {
    const r = checkProviders(input({ externalIds: [{ authProvider: 'saml', rows: 2, users: 2 }], explicitMapping: new Map([['saml', GITHUB]]) }));
    expect(r.findings).toEqual([]);
    expect(r.mapping.get('saml')).toBe(GITHUB);
  });

  it('E_MAS_PROVIDER_MISSING: proposes the MAS provider with the same issuer and client id, with the YAML line', () => {
    const unmapped = masProviders([
      { id: GITHUB, issuer: 'https://github.com', client_id: 'gh-client', token_endpoint_auth_method: 'client_secret_basic', client_secret: 'x' },
      { id: KEYCLOAK, synapse_idp_id: 'oidc-keycloak', issuer: 'https://kc.example.com/realms/main', client_id: 'mas', token_endpoint_auth_method: 'none' },
    ]);
    const r = checkProviders(input({ masProviders: unmapped }));
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f).toMatchObject({ code: 'E_MAS_PROVIDER_MISSING', severity: 'error', details: { authProvider: 'oidc-github', users: 3, proposedProviderId: GITHUB } });
    expect(f?.details?.yaml).toContain('synapse_idp_id: oidc-github');
    expect(f?.fix).toContain(`--upstream-provider-mapping oidc-github:${GITHUB}`);
    expect(r.mapping.has('oidc-github')).toBe(false);
  });

  it('E_MAS_PROVIDER_MISSING without a candidate says to add a provider', () => {
    const r = checkProviders(input({ masProviders: mapped.filter((p) => p.id !== GITHUB) }));
    expect(r.findings[0]?.code).toBe('E_MAS_PROVIDER_MISSING');
    expect(r.findings[0]?.details?.proposedProviderId).toBeUndefined();
    expect(r.findings[0]?.fix).toMatch(/config generate/);
  });

  it('E_MAS_PROVIDER_NOT_SYNCED: the mapped provider is not in the MAS database', () => {
    const r = checkProviders(input({ masDatabaseProviders: [{ id: KEYCLOAK, disabled: false }] }));
    expect(r.findings.map((f) => f.code)).toEqual(['E_MAS_PROVIDER_NOT_SYNCED']);
    expect(r.findings[0]?.fix).toContain('mas-cli config sync');
  });

  it('E_MAS_PROVIDER_DISABLED: disabled in the config or in the database', () => {
    const disabledInConfig = masProviders([
      { id: GITHUB, synapse_idp_id: 'oidc-github', issuer: 'https://github.com/', client_id: 'gh', token_endpoint_auth_method: 'none', enabled: false },
      { id: KEYCLOAK, synapse_idp_id: 'oidc-keycloak', issuer: 'https://kc', client_id: 'mas', token_endpoint_auth_method: 'none' },
    ]);
    expect(checkProviders(input({ masProviders: disabledInConfig })).findings.map((f) => f.code)).toEqual(['E_MAS_PROVIDER_DISABLED']);
    const disabledInDb = checkProviders(input({ masDatabaseProviders: [{ id: GITHUB, disabled: true }, { id: KEYCLOAK, disabled: false }] }));
    expect(disabledInDb.findings.map((f) => [f.code, f.details?.disabledIn])).toEqual([['E_MAS_PROVIDER_DISABLED', 'database']]);
  });
});
