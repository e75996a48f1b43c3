// Synapse's upstream OpenID Connect providers (`oidc_providers` and the legacy `oidc_config`), with
// their user mapping provider, as parsed settings.
import { Secret } from '../../secret.js';
import { describe, type Fields } from '../fields.js';
import { isMap, type ConfigMap } from '../read.js';

export interface SynapseUserMappingProvider {
  module: string | undefined;
  /** True for Synapse's Jinja mapping provider (either module path, or none given). */
  isJinja: boolean;
  subjectTemplate?: string;
  subjectClaim?: string;
  localpartTemplate?: string;
  displayNameTemplate?: string;
  emailTemplate?: string;
  pictureTemplate?: string;
  confirmLocalpart: boolean;
}

export interface SynapseOidcProvider {
  /** The id Synapse records in `user_external_ids.auth_provider`: `oidc` or `oidc-<idp_id>`. */
  idpId: string;
  /** Where it was configured, for messages: `oidc_providers[2]` or `oidc_config`. */
  keyPath: string;
  legacy: boolean;
  enabled: boolean;
  idpName?: string;
  idpBrand?: string;
  issuer?: string;
  clientId?: string;
  clientSecret?: Secret;
  clientSecretPath?: string;
  hasClientSecretJwtKey: boolean;
  clientAuthMethod?: string;
  discover: boolean;
  skipVerification: boolean;
  pkceMethod?: string;
  scopes: string[];
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  userinfoEndpoint?: string;
  jwksUri?: string;
  userProfileMethod?: string;
  backchannelLogoutEnabled: boolean;
  additionalAuthorizationParameters: Record<string, string>;
  forwardLoginHint?: boolean;
  hasAttributeRequirements: boolean;
  hasIdTokenSigningAlgValuesSupported: boolean;
  enableRegistration?: boolean;
  userMappingProvider: SynapseUserMappingProvider;
}

const JINJA_MODULES = new Set([
  'synapse.handlers.oidc.JinjaOidcMappingProvider',
  'synapse.handlers.oidc_handler.JinjaOidcMappingProvider',
]);

export function oidcProviders(f: Fields, doc: ConfigMap): SynapseOidcProvider[] {
  const byId = new Map<string, SynapseOidcProvider>();
  const legacy = f.section(doc, 'oidc_config', 'oidc_config');
  // Like mas-cli, a legacy block counts when it names an issuer and a client, whatever its
  // `enabled` says: links it created are still in user_external_ids.
  if (legacy !== undefined && legacy.issuer != null && legacy.client_id != null) {
    const provider = oidcProvider(f, legacy, 'oidc_config', true);
    byId.set(provider.idpId, provider);
  }
  const list = f.list(doc, 'oidc_providers', 'oidc_providers') ?? [];
  list.forEach((entry, i) => {
    const path = `oidc_providers[${i}]`;
    if (!isMap(entry)) {
      f.problem(path, `expected a mapping, found ${describe(entry)}`);
      return;
    }
    const provider = oidcProvider(f, entry, path, false);
    byId.delete(provider.idpId);
    byId.set(provider.idpId, provider);
  });
  return [...byId.values()];
}

/**
 * Synapse prefixes a configured `idp_id` with `oidc-` (the bare `oidc` stays as is) and records the
 * result in user_external_ids. This applies to the legacy `oidc_config` block too, which mas-cli
 * gets wrong when that block sets an idp_id; we match what Synapse actually wrote.
 */
export function synapseIdpId(configured: string | undefined): string {
  if (configured === undefined || configured === 'oidc') return 'oidc';
  return `oidc-${configured}`;
}

function oidcProvider(f: Fields, m: ConfigMap, path: string, legacy: boolean): SynapseOidcProvider {
  const opt = (key: string): string | undefined => f.string(m, key, `${path}.${key}`);
  const ump = f.section(m, 'user_mapping_provider', `${path}.user_mapping_provider`);
  const umpConfig = f.section(ump, 'config', `${path}.user_mapping_provider.config`);
  const umpPath = `${path}.user_mapping_provider.config`;
  const module = f.string(ump, 'module', `${path}.user_mapping_provider.module`);
  const mapping: SynapseUserMappingProvider = {
    module,
    isJinja: module === undefined || JINJA_MODULES.has(module),
    confirmLocalpart: f.bool(umpConfig, 'confirm_localpart', `${umpPath}.confirm_localpart`) ?? false,
  };
  const templates = [
    ['subject_template', 'subjectTemplate'],
    ['subject_claim', 'subjectClaim'],
    ['localpart_template', 'localpartTemplate'],
    ['display_name_template', 'displayNameTemplate'],
    ['email_template', 'emailTemplate'],
    ['picture_template', 'pictureTemplate'],
  ] as const;
  for (const [key, field] of templates) {
    const v = f.string(umpConfig, key, `${umpPath}.${key}`);
    if (v !== undefined) mapping[field] = v;
  }

  const scopes = f.stringList(m, 'scopes', `${path}.scopes`) ?? ['openid'];
  const extra = f.section(m, 'additional_authorization_parameters', `${path}.additional_authorization_parameters`) ?? {};
  const additional: Record<string, string> = {};
  for (const [k, v] of Object.entries(extra)) {
    if (typeof v === 'string') additional[k] = v;
    else f.problem(`${path}.additional_authorization_parameters.${k}`, `expected a string, found ${describe(v)}`);
  }
  const configuredId = opt('idp_id');
  const secret = f.string(m, 'client_secret', `${path}.client_secret`, { secret: true });

  const provider: SynapseOidcProvider = {
    idpId: synapseIdpId(configuredId),
    keyPath: path,
    legacy,
    enabled: legacy ? m.enabled === true : (f.bool(m, 'enabled', `${path}.enabled`) ?? true),
    hasClientSecretJwtKey: m.client_secret_jwt_key != null,
    discover: f.bool(m, 'discover', `${path}.discover`) ?? true,
    skipVerification: f.bool(m, 'skip_verification', `${path}.skip_verification`) ?? false,
    scopes,
    backchannelLogoutEnabled: f.bool(m, 'backchannel_logout_enabled', `${path}.backchannel_logout_enabled`) ?? false,
    additionalAuthorizationParameters: additional,
    hasAttributeRequirements: m.attribute_requirements != null,
    hasIdTokenSigningAlgValuesSupported: m.id_token_signing_alg_values_supported != null,
    userMappingProvider: mapping,
  };
  const strings = [
    ['idp_name', 'idpName'],
    ['idp_brand', 'idpBrand'],
    ['issuer', 'issuer'],
    ['client_id', 'clientId'],
    ['client_secret_path', 'clientSecretPath'],
    ['client_auth_method', 'clientAuthMethod'],
    ['pkce_method', 'pkceMethod'],
    ['authorization_endpoint', 'authorizationEndpoint'],
    ['token_endpoint', 'tokenEndpoint'],
    ['userinfo_endpoint', 'userinfoEndpoint'],
    ['jwks_uri', 'jwksUri'],
    ['user_profile_method', 'userProfileMethod'],
  ] as const;
  for (const [key, field] of strings) {
    const v = opt(key);
    if (v !== undefined) provider[field] = v;
  }
  if (secret !== undefined) provider.clientSecret = Secret.fromString(secret);
  const hint = f.bool(m, 'forward_login_hint', `${path}.forward_login_hint`);
  if (hint !== undefined) provider.forwardLoginHint = hint;
  const reg = f.bool(m, 'enable_registration', `${path}.enable_registration`);
  if (reg !== undefined) provider.enableRegistration = reg;
  return provider;
}

