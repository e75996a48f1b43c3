// Parses a merged homeserver.yaml into the settings mas-tool uses. Pure: no file reading (secret
// files named by `*_path` keys are recorded, not read). Every problem is collected and reported at
// once, each naming its file and key.
import { ConfigError } from '../errors.js';
import { Secret } from '../secret.js';
import { Fields, describe } from './fields.js';
import { isMap, type ConfigMap, type SourcedConfig } from './read.js';
import type { SecretSource } from './secret-source.js';
import { LIBPQ_SSLMODES, type SslMode } from '../db/uri.js';


/** The libpq connection keywords from `database.args` that mas-tool honours. */
export interface SynapseDatabaseArgs {
  user?: string;
  password?: Secret;
  dbname?: string;
  host?: string;
  port?: number;
  sslmode?: SslMode;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  passfile?: string;
  connectTimeoutSeconds?: number;
}

export interface SynapseDatabaseConfig {
  /** `psycopg2` or `sqlite3` (Synapse's default when `database` is absent). */
  name: string;
  args: SynapseDatabaseArgs;
  /** The key path the settings came from: `database` or `databases.<label>`. */
  keyPath: string;
}

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

export interface SynapseMasIntegration {
  enabled: boolean;
  endpoint: string;
  secret?: SecretSource;
  forceHttp2: boolean;
}

export interface SynapseLegacyMsc3861 {
  enabled: boolean;
  issuer?: string;
  clientId?: string;
  adminToken?: SecretSource;
  accountManagementUrl?: string;
}

export interface ParsedSynapseConfig {
  files: readonly string[];
  serverName: string;
  /** With a trailing slash, as Synapse normalises it; undefined when not set explicitly. */
  publicBaseurl?: string;
  database?: SynapseDatabaseConfig;
  passwordConfig: {
    enabled: boolean | 'only_for_reauth';
    localdbEnabled: boolean;
    /** Undefined when unset, null or empty: Synapse appends nothing. */
    pepper?: Secret;
  };
  bcryptRounds?: number;
  allowGuestAccess: boolean;
  enableRegistration: boolean;
  enableRegistrationWithoutVerification: boolean;
  registrationsRequire3pid: boolean;
  registrationRequiresToken: boolean;
  hasRegistrationSharedSecret: boolean;
  enableRegistrationCaptcha: boolean;
  recaptchaPublicKey?: string;
  recaptchaPrivateKey?: Secret;
  /** Undefined when absent: only an explicit `true` matters for migration. */
  enable3pidChanges?: boolean;
  enableSetDisplayname: boolean;
  enableSetAvatarUrl: boolean;
  userConsent: boolean;
  loginViaExistingSessionEnabled: boolean;
  casEnabled: boolean;
  saml2Enabled: boolean;
  jwtEnabled: boolean;
  /** Module names of `password_providers` (and `ldap_config` when enabled). */
  passwordProviders: string[];
  /** Module names of the generic `modules` list. */
  modules: string[];
  /** In Synapse's order; a later provider with the same id replaces an earlier one. */
  oidcProviders: SynapseOidcProvider[];
  /** Keys set among the token lifetime options that cannot coexist with MAS. */
  tokenLifetimeKeys: string[];
  mas?: SynapseMasIntegration;
  msc3861?: SynapseLegacyMsc3861;
  appServiceConfigFiles: string[];
}

const JINJA_MODULES = new Set([
  'synapse.handlers.oidc.JinjaOidcMappingProvider',
  'synapse.handlers.oidc_handler.JinjaOidcMappingProvider',
]);

const TOKEN_LIFETIME_KEYS = ['session_lifetime', 'refresh_token_lifetime', 'nonrefreshable_access_token_lifetime'];

export function parseSynapseConfig(source: SourcedConfig): ParsedSynapseConfig {
  const f = new Fields(source);
  const doc = source.value;

  const serverName = f.string(doc, 'server_name', 'server_name');
  if (serverName === undefined && doc.server_name === undefined) {
    f.problem('server_name', 'is required (the domain in your users\' Matrix IDs, e.g. example.com)');
  }

  let publicBaseurl = f.string(doc, 'public_baseurl', 'public_baseurl');
  if (publicBaseurl !== undefined && !publicBaseurl.endsWith('/')) publicBaseurl += '/';

  const pwc = f.section(doc, 'password_config', 'password_config');
  const mas = masIntegration(f, doc);
  // Synapse turns its own password login off by default once it delegates to MAS.
  const pwDefault = mas?.enabled !== true;
  const pwEnabled: boolean | 'only_for_reauth' =
    pwc?.enabled === 'only_for_reauth' ? 'only_for_reauth' : (f.bool(pwc, 'enabled', 'password_config.enabled') ?? pwDefault);
  const pepper = f.string(pwc, 'pepper', 'password_config.pepper', { secret: true });

  const captcha = strtobool(f, doc, 'enable_registration_captcha') ?? false;
  const recaptchaPrivate = f.string(doc, 'recaptcha_private_key', 'recaptcha_private_key', { secret: true });

  const cas = doc.cas_config;
  const saml = doc.saml2_config;
  const jwt = f.section(doc, 'jwt_config', 'jwt_config');

  const parsed: ParsedSynapseConfig = {
    files: source.files,
    serverName: serverName ?? '',
    passwordConfig: {
      enabled: pwEnabled,
      localdbEnabled: f.bool(pwc, 'localdb_enabled', 'password_config.localdb_enabled') ?? true,
      ...(pepper ? { pepper: Secret.fromString(pepper) } : {}),
    },
    allowGuestAccess: f.bool(doc, 'allow_guest_access', 'allow_guest_access') ?? false,
    enableRegistration: registrationEnabled(f, doc),
    enableRegistrationWithoutVerification:
      f.bool(doc, 'enable_registration_without_verification', 'enable_registration_without_verification') ?? false,
    registrationsRequire3pid: (f.list(doc, 'registrations_require_3pid', 'registrations_require_3pid') ?? []).length > 0,
    registrationRequiresToken: f.bool(doc, 'registration_requires_token', 'registration_requires_token') ?? false,
    hasRegistrationSharedSecret: doc.registration_shared_secret != null || doc.registration_shared_secret_path != null,
    enableRegistrationCaptcha: captcha,
    enableSetDisplayname:
      f.bool(doc, 'enable_set_displayname', 'enable_set_displayname') ??
      f.bool(doc, 'enable_set_display_name', 'enable_set_display_name') ??
      true,
    enableSetAvatarUrl: f.bool(doc, 'enable_set_avatar_url', 'enable_set_avatar_url') ?? true,
    userConsent: doc.user_consent !== undefined && doc.user_consent !== null,
    loginViaExistingSessionEnabled:
      f.bool(f.section(doc, 'login_via_existing_session', 'login_via_existing_session'), 'enabled', 'login_via_existing_session.enabled') ??
      false,
    casEnabled: isMap(cas) && Object.keys(cas).length > 0 && cas.enabled !== false,
    // Synapse treats SAML as on when the section has sp_config or config_path and `enabled` is not
    // false; mas-cli only looks at an explicit `enabled: true`. Either one means SAML users exist.
    saml2Enabled:
      isMap(saml) && saml.enabled !== false && (saml.enabled === true || saml.sp_config != null || saml.config_path != null),
    jwtEnabled: f.bool(jwt, 'enabled', 'jwt_config.enabled') ?? false,
    passwordProviders: passwordProviders(f, doc),
    modules: moduleNames(f, doc, 'modules'),
    oidcProviders: oidcProviders(f, doc),
    tokenLifetimeKeys: TOKEN_LIFETIME_KEYS.filter((k) => doc[k] !== undefined && doc[k] !== null),
    appServiceConfigFiles: f.stringList(doc, 'app_service_config_files', 'app_service_config_files') ?? [],
  };

  if (publicBaseurl !== undefined) parsed.publicBaseurl = publicBaseurl;
  const database = databaseConfig(f, doc);
  if (database !== undefined) parsed.database = database;
  const bcryptRounds = f.integer(doc, 'bcrypt_rounds', 'bcrypt_rounds', { min: 4, max: 31 });
  if (bcryptRounds !== undefined) parsed.bcryptRounds = bcryptRounds;
  const recaptchaPublic = f.string(doc, 'recaptcha_public_key', 'recaptcha_public_key');
  if (recaptchaPublic !== undefined) parsed.recaptchaPublicKey = recaptchaPublic;
  if (recaptchaPrivate) parsed.recaptchaPrivateKey = Secret.fromString(recaptchaPrivate);
  const threepid = f.bool(doc, 'enable_3pid_changes', 'enable_3pid_changes');
  if (threepid !== undefined) parsed.enable3pidChanges = threepid;
  if (mas !== undefined) parsed.mas = mas;
  const msc3861 = legacyMsc3861(f, doc);
  if (msc3861 !== undefined) parsed.msc3861 = msc3861;

  if (f.problems.length > 0) {
    throw new ConfigError(`The Synapse configuration (${source.files.join(', ')}) has ${plural(f.problems.length, 'problem')}:`, {
      problems: f.problems,
      hint: 'Fix these keys in homeserver.yaml; mas-tool reads the files the same way Synapse does.',
    });
  }
  return parsed;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Python's strtobool over str(value), which Synapse applies to a few registration flags. */
function strtobool(f: Fields, doc: ConfigMap, key: string): boolean | undefined {
  const v = doc[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (['y', 'yes', 't', 'true', 'on', '1'].includes(s)) return true;
  if (['n', 'no', 'f', 'false', 'off', '0'].includes(s)) return false;
  f.problem(key, `expected true or false, found ${describe(v)}`);
  return undefined;
}

function registrationEnabled(f: Fields, doc: ConfigMap): boolean {
  const enabled = strtobool(f, doc, 'enable_registration');
  if (enabled !== undefined) return enabled;
  // The pre-2016 spelling, inverted.
  const disabled = strtobool(f, doc, 'disable_registration');
  return disabled === undefined ? false : !disabled;
}

function databaseConfig(f: Fields, doc: ConfigMap): SynapseDatabaseConfig | undefined {
  if (doc.database != null && doc.databases != null) {
    f.problem('databases', 'cannot be set together with `database`; keep one of them');
    return undefined;
  }
  let section: ConfigMap | undefined;
  let keyPath = 'database';
  if (doc.databases != null) {
    const all = f.section(doc, 'databases', 'databases');
    for (const [label, entry] of Object.entries(all ?? {})) {
      if (!isMap(entry)) continue;
      const stores = entry.data_stores;
      if (stores === undefined || (Array.isArray(stores) && stores.includes('main'))) {
        section = entry;
        keyPath = `databases.${label}`;
        break;
      }
    }
    if (section === undefined) {
      f.problem('databases', 'no entry holds the `main` data store (its `data_stores` list must include main)');
      return undefined;
    }
  } else {
    section = f.section(doc, 'database', 'database');
  }
  if (section === undefined) {
    if (doc.database_path != null) return { name: 'sqlite3', args: {}, keyPath };
    return undefined;
  }
  const name = f.string(section, 'name', `${keyPath}.name`) ?? 'sqlite3';
  const rawArgs = f.section(section, 'args', `${keyPath}.args`);
  const p = `${keyPath}.args`;
  const args: SynapseDatabaseArgs = {};
  const user = f.string(rawArgs, 'user', `${p}.user`);
  if (user !== undefined) args.user = user;
  const password = f.string(rawArgs, 'password', `${p}.password`, { secret: true });
  if (password !== undefined) args.password = Secret.fromString(password);
  const dbname = f.string(rawArgs, 'dbname', `${p}.dbname`);
  const database = f.string(rawArgs, 'database', `${p}.database`);
  if (dbname !== undefined && database !== undefined) {
    f.problem(`${p}.database`, 'is an alias of `dbname`; set only one of the two');
  } else if ((dbname ?? database) !== undefined) {
    args.dbname = (dbname ?? database) as string;
  }
  const host = f.string(rawArgs, 'host', `${p}.host`);
  if (host !== undefined) args.host = host;
  const port = f.integer(rawArgs, 'port', `${p}.port`, { min: 1, max: 65535 });
  if (port !== undefined) args.port = port;
  const sslmode = f.oneOf(rawArgs, 'sslmode', `${p}.sslmode`, LIBPQ_SSLMODES);
  if (sslmode !== undefined) args.sslmode = sslmode;
  for (const key of ['sslrootcert', 'sslcert', 'sslkey', 'passfile'] as const) {
    const v = f.string(rawArgs, key, `${p}.${key}`);
    if (v !== undefined) args[key] = v;
  }
  const timeout = f.integer(rawArgs, 'connect_timeout', `${p}.connect_timeout`, { min: 0 });
  if (timeout !== undefined) args.connectTimeoutSeconds = timeout;
  return { name, args, keyPath };
}

function moduleNames(f: Fields, doc: ConfigMap, key: string): string[] {
  const items = f.list(doc, key, key) ?? [];
  return items.map((item, i) => {
    const module = isMap(item) ? item.module : undefined;
    if (typeof module !== 'string') {
      f.problem(`${key}[${i}].module`, 'is required (the Python module path of the provider)');
      return '';
    }
    return module;
  });
}

function passwordProviders(f: Fields, doc: ConfigMap): string[] {
  const names = moduleNames(f, doc, 'password_providers');
  const ldap = f.section(doc, 'ldap_config', 'ldap_config');
  if (ldap !== undefined && ldap.enabled === true) names.push('ldap_auth_provider.LdapAuthProvider');
  return names;
}

function oidcProviders(f: Fields, doc: ConfigMap): SynapseOidcProvider[] {
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


function masIntegration(f: Fields, doc: ConfigMap): SynapseMasIntegration | undefined {
  const m = f.section(doc, 'matrix_authentication_service', 'matrix_authentication_service');
  if (m === undefined) return undefined;
  const path = 'matrix_authentication_service';
  const out: SynapseMasIntegration = {
    enabled: f.bool(m, 'enabled', `${path}.enabled`) ?? false,
    endpoint: f.string(m, 'endpoint', `${path}.endpoint`) ?? 'http://localhost:8080',
    forceHttp2: f.bool(m, 'force_http2', `${path}.force_http2`) ?? false,
  };
  const secret = f.secret(m, 'secret', 'secret_path', path);
  if (secret !== undefined) out.secret = secret;
  return out;
}

function legacyMsc3861(f: Fields, doc: ConfigMap): SynapseLegacyMsc3861 | undefined {
  const experimental = f.section(doc, 'experimental_features', 'experimental_features');
  const m = f.section(experimental, 'msc3861', 'experimental_features.msc3861');
  if (m === undefined || Object.keys(m).length === 0) return undefined;
  const path = 'experimental_features.msc3861';
  const out: SynapseLegacyMsc3861 = { enabled: f.bool(m, 'enabled', `${path}.enabled`) ?? false };
  const issuer = f.string(m, 'issuer', `${path}.issuer`);
  if (issuer !== undefined) out.issuer = issuer;
  const clientId = f.string(m, 'client_id', `${path}.client_id`);
  if (clientId !== undefined) out.clientId = clientId;
  const account = f.string(m, 'account_management_url', `${path}.account_management_url`);
  if (account !== undefined) out.accountManagementUrl = account;
  const token = f.secret(m, 'admin_token', 'admin_token_path', path);
  if (token !== undefined) out.adminToken = token;
  return out;
}
