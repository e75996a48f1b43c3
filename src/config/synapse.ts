// Parses a merged homeserver.yaml into the settings mas-tool uses. Pure: no file reading (secret
// files named by `*_path` keys are recorded, not read). Every problem is collected and reported at
// once, each naming its file and key.
import { ConfigError } from '../errors.js';
import { Secret } from '../secret.js';
import { Fields, describe } from './fields.js';
import { isMap, type ConfigMap, type SourcedConfig } from './read.js';
import { databaseConfig, type SynapseDatabaseConfig } from './synapse/database.js';
import { legacyMsc3861, masIntegration, type SynapseLegacyMsc3861, type SynapseMasIntegration } from './synapse/mas-integration.js';
import { oidcProviders, type SynapseOidcProvider } from './synapse/oidc.js';

export type { SynapseDatabaseArgs, SynapseDatabaseConfig } from './synapse/database.js';
export type { SynapseLegacyMsc3861, SynapseMasIntegration } from './synapse/mas-integration.js';
export { synapseIdpId, type SynapseOidcProvider, type SynapseUserMappingProvider } from './synapse/oidc.js';

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
