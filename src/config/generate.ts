// Derives a MAS config.yaml from a parsed homeserver.yaml: what `mas-cli config generate
// --synapse-config` produces, with its known mistakes corrected (fetch_userinfo and
// on_backchannel_logout the right way round, matrix.endpoint never set to Synapse's public URL,
// matrix.secret taken from Synapse's matrix_authentication_service block) and a warning, as a
// Finding, for everything that cannot be carried over.
//
// Pure: no I/O. Given the same ParsedSynapseConfig and options it returns the same document, YAML
// and findings. Fresh secrets come in through options.secrets (see keys.ts). No finding ever holds a
// secret value: findings name keys and files, never what they contain.
import { createHmac } from 'node:crypto';
import { monotonicFactory, type PRNG } from 'ulid';
import { Document, isMap, isPair, isScalar, type Node } from 'yaml';
import type { Finding } from '../report/finding.js';
import type { Secret } from '../secret.js';
import type { GeneratedSecrets } from './keys.js';
import type { ParsedSynapseConfig, SynapseOidcProvider } from './synapse.js';

export interface GenerateOptions {
  now: Date;
  secrets: GeneratedSecrets;
  /** Synapse's matrix_authentication_service secret, already read from secret_path if needed. */
  sharedSecret?: Secret;
}

export interface GeneratedMasConfig {
  /** The config as data (secrets as plain strings: it is the product). */
  document: Record<string, unknown>;
  yaml: string;
  /** Warnings for what could not be carried over. */
  findings: Finding[];
}

/** Every code generateMasConfig can emit. Stable: scripts match on them. */
export const GENERATE_CODES = {
  publicBase: 'W_GENERATE_PUBLIC_BASE',
  endpointDefault: 'W_GENERATE_ENDPOINT_DEFAULT',
  database: 'W_GENERATE_DATABASE',
  email: 'W_GENERATE_EMAIL_NOT_CARRIED',
  matrixSecretNew: 'I_GENERATE_MATRIX_SECRET_NEW',
  matrixSecretUnread: 'W_GENERATE_MATRIX_SECRET_UNREAD',
  alreadyMigrated: 'W_GENERATE_ALREADY_MIGRATED',
  saml: 'W_GENERATE_SAML_NOT_CARRIED',
  cas: 'W_GENERATE_CAS_NOT_CARRIED',
  jwt: 'W_GENERATE_JWT_NOT_CARRIED',
  passwordProviders: 'W_GENERATE_PASSWORD_PROVIDER_NOT_CARRIED',
  passwordsReauthOnly: 'W_GENERATE_PASSWORDS_REAUTH_ONLY',
  captchaKeys: 'W_GENERATE_CAPTCHA_KEYS_MISSING',
  userConsent: 'W_GENERATE_USER_CONSENT_NOT_CARRIED',
  providerNoClientId: 'W_GENERATE_PROVIDER_NO_CLIENT_ID',
  providerDisabled: 'W_GENERATE_PROVIDER_DISABLED',
  clientSecretPath: 'W_GENERATE_CLIENT_SECRET_PATH',
  clientSecretJwtKey: 'W_GENERATE_CLIENT_SECRET_JWT_KEY',
  clientSecretMissing: 'W_GENERATE_CLIENT_SECRET_MISSING',
  clientAuthMethod: 'W_GENERATE_CLIENT_AUTH_METHOD',
  attributeRequirements: 'W_GENERATE_ATTRIBUTE_REQUIREMENTS',
  idTokenSigningAlgs: 'W_GENERATE_ID_TOKEN_SIGNING_ALGS',
  providerRegistration: 'W_GENERATE_PROVIDER_REGISTRATION_DISABLED',
  scope: 'W_GENERATE_SCOPE_INVALID',
  pkceMethod: 'W_GENERATE_PKCE_METHOD',
  responseMode: 'W_GENERATE_RESPONSE_MODE',
  userProfileMethod: 'W_GENERATE_USER_PROFILE_METHOD',
  endpointUrl: 'W_GENERATE_PROVIDER_URL_INVALID',
  authParamTemplate: 'W_GENERATE_AUTH_PARAM_TEMPLATE',
  mappingModule: 'W_GENERATE_MAPPING_PROVIDER_MODULE',
  jinjaFilter: 'W_GENERATE_JINJA_FILTER',
  subjectTemplateAndClaim: 'W_GENERATE_SUBJECT_TEMPLATE_AND_CLAIM',
  pictureTemplate: 'W_GENERATE_PICTURE_TEMPLATE',
} as const;

const C = GENERATE_CODES;

/** MAS's baseline listeners address; also the placeholder public_base (as mas-cli generates it). */
export const DEFAULT_PUBLIC_BASE = 'http://[::]:8080/';
/** MAS's own default for matrix.endpoint: Synapse's client listener on the same host. */
export const DEFAULT_MATRIX_ENDPOINT = 'http://localhost:8008/';

/** The token endpoint auth methods Synapse itself accepts for `client_auth_method`. */
const SYNAPSE_CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
const SECRET_AUTH_METHODS = new Set(['client_secret_basic', 'client_secret_post', 'client_secret_jwt']);
const PKCE_METHODS = ['auto', 'always', 'never'] as const;
const RESPONSE_MODES = ['query', 'form_post'] as const;
const USER_PROFILE_METHODS = ['auto', 'userinfo_endpoint'] as const;

/**
 * Filters Synapse registers in the Jinja environment of its OIDC mapping provider that MAS's
 * MiniJinja environment does not have, each with the MAS spelling to use instead.
 */
const SYNAPSE_ONLY_FILTERS: Record<string, string> = {
  localpart_from_email: "replace `EXPR | localpart_from_email` with `(EXPR | split('@'))[0]`",
};

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function generateMasConfig(synapse: ParsedSynapseConfig, options: GenerateOptions): GeneratedMasConfig {
  const findings: Finding[] = [];
  const warn = (code: string, message: string, fix: string, details: Record<string, unknown> = {}): void => {
    findings.push({ code, severity: 'warning', message, fix, details });
  };
  const info = (code: string, message: string, fix: string, details: Record<string, unknown> = {}): void => {
    findings.push({ code, severity: 'info', message, fix, details });
  };

  // ---- matrix ------------------------------------------------------------------------------
  const matrix = {
    kind: 'synapse',
    homeserver: synapse.serverName,
    secret: matrixSecret(synapse, options, warn, info),
    endpoint: DEFAULT_MATRIX_ENDPOINT,
  };
  // Decision: never copy public_baseurl into matrix.endpoint (mas-cli does). MAS calls Synapse's
  // /_synapse/mas API with the shared secret; that should go straight to Synapse's listener, not
  // out through the public reverse proxy (which may not even route /_synapse/mas).
  if (synapse.publicBaseurl !== undefined) {
    warn(
      C.endpointDefault,
      `matrix.endpoint is set to ${DEFAULT_MATRIX_ENDPOINT}, not to Synapse's public_baseurl (${synapse.publicBaseurl}): MAS should reach Synapse directly.`,
      "Set matrix.endpoint to the internal URL of Synapse's client listener as seen from the MAS host (for example http://synapse:8008/ in a container network).",
      { key: 'matrix.endpoint', value: DEFAULT_MATRIX_ENDPOINT, synapsePublicBaseurl: synapse.publicBaseurl },
    );
  } else {
    warn(
      C.endpointDefault,
      `matrix.endpoint is set to the default ${DEFAULT_MATRIX_ENDPOINT}; homeserver.yaml does not say where Synapse listens for MAS.`,
      "Set matrix.endpoint to the internal URL of Synapse's client listener as seen from the MAS host.",
      { key: 'matrix.endpoint', value: DEFAULT_MATRIX_ENDPOINT },
    );
  }
  if (synapse.mas?.enabled === true || synapse.msc3861?.enabled === true) {
    const key = synapse.mas?.enabled === true ? 'matrix_authentication_service.enabled' : 'experimental_features.msc3861.enabled';
    warn(
      C.alreadyMigrated,
      `${key} is true: this homeserver.yaml already delegates authentication to MAS, so settings MAS needs (password_config, oidc_providers, registration) may already have been switched off in it.`,
      'Generate from the homeserver.yaml Synapse ran with before the switch to MAS, or check passwords and upstream_oauth2 in the result by hand.',
      { key },
    );
  }

  // ---- http --------------------------------------------------------------------------------
  // Decision: `issuer` is left out so that it follows public_base once the operator sets it; a
  // copied placeholder issuer would silently stay wrong. trusted_proxies is left at MAS's default.
  const http = {
    listeners: [
      {
        name: 'web',
        resources: ['discovery', 'human', 'oauth', 'compat', 'graphql', 'assets'].map((name) => ({ name })),
        binds: [{ address: '[::]:8080' }],
        proxy_protocol: false,
      },
      {
        name: 'internal',
        resources: [{ name: 'health' }],
        binds: [{ host: 'localhost', port: 8081 }],
        proxy_protocol: false,
      },
    ],
    public_base: DEFAULT_PUBLIC_BASE,
  };
  // Decision: public_baseurl is Synapse's URL; MAS needs its own (auth.example.com, or a path on
  // another host), which nothing in homeserver.yaml says. Keep the placeholder and say so.
  warn(
    C.publicBase,
    `http.public_base is the placeholder ${DEFAULT_PUBLIC_BASE}; the public URL of MAS cannot be derived from homeserver.yaml${
      synapse.publicBaseurl !== undefined ? ` (public_baseurl ${synapse.publicBaseurl} is Synapse's own URL, not MAS's)` : ''
    }.`,
    'Set http.public_base to the https URL clients will reach MAS at (for example https://auth.example.com/), and route it to the web listener.',
    { key: 'http.public_base', value: DEFAULT_PUBLIC_BASE, ...(synapse.publicBaseurl !== undefined ? { synapsePublicBaseurl: synapse.publicBaseurl } : {}) },
  );

  // ---- database ----------------------------------------------------------------------------
  const database = { uri: 'postgresql://' };
  const synapseDb = synapse.database;
  warn(
    C.database,
    'database.uri is `postgresql://` (libpq defaults and PG* environment variables): MAS needs its own empty PostgreSQL database, and Synapse\'s is not it.',
    'Create an empty database for MAS (CREATE DATABASE mas OWNER mas;) and set database.uri, e.g. postgresql://mas@db.example.com/mas; keep the password in database.password_file.',
    {
      key: 'database.uri',
      ...(synapseDb !== undefined
        ? { synapseDatabase: { keyPath: synapseDb.keyPath, name: synapseDb.name, host: synapseDb.args.host, dbname: synapseDb.args.dbname } }
        : {}),
    },
  );

  // ---- passwords ---------------------------------------------------------------------------
  // Decision: `only_for_reauth` does NOT count as enabled. Synapse then refuses password logins and
  // only accepts a password to confirm an action; MAS has no such mode, so enabling passwords would
  // open a login path Synapse kept closed. Users keep signing in through their SSO provider.
  const pwEnabled = synapse.passwordConfig.enabled === true;
  if (synapse.passwordConfig.enabled === 'only_for_reauth') {
    warn(
      C.passwordsReauthOnly,
      'password_config.enabled is `only_for_reauth`; MAS has no re-authentication-only mode, so passwords.enabled is false.',
      'Leave it so if users sign in through SSO only; set passwords.enabled: true if password login should be allowed in MAS.',
      { key: 'password_config.enabled' },
    );
  }
  // Decision: the schemes are written even when passwords are disabled. syn2mas copies the bcrypt
  // hashes whatever passwords.enabled says and checks for a v1 bcrypt scheme whose secret is the
  // pepper; with the schemes in place the imported hashes stay usable if passwords are enabled later.
  const bcrypt: Record<string, unknown> = { version: 1, algorithm: 'bcrypt' };
  if (synapse.bcryptRounds !== undefined) bcrypt.cost = synapse.bcryptRounds;
  if (synapse.passwordConfig.pepper !== undefined) bcrypt.secret = synapse.passwordConfig.pepper.reveal();
  bcrypt.unicode_normalization = true;
  const passwords = { enabled: pwEnabled, schemes: [bcrypt, { version: 2, algorithm: 'argon2id' }] };

  // ---- account -----------------------------------------------------------------------------
  const account: Record<string, unknown> = {
    // Password registration only makes sense where password login exists.
    password_registration_enabled: pwEnabled && synapse.enableRegistration,
  };
  // Decision: carry registration_requires_token. Without it MAS would open password registration
  // that Synapse kept behind registration tokens.
  if (pwEnabled && synapse.enableRegistration && synapse.registrationRequiresToken) {
    account.password_registration_token_required = true;
  }
  if (synapse.enable3pidChanges !== undefined) account.email_change_allowed = synapse.enable3pidChanges;
  account.displayname_change_allowed = synapse.enableSetDisplayname;

  // ---- captcha -----------------------------------------------------------------------------
  let captcha: Record<string, unknown> | undefined;
  if (synapse.enableRegistrationCaptcha) {
    captcha = { service: 'recaptcha_v2' };
    if (synapse.recaptchaPublicKey !== undefined) captcha.site_key = synapse.recaptchaPublicKey;
    if (synapse.recaptchaPrivateKey !== undefined) captcha.secret_key = synapse.recaptchaPrivateKey.reveal();
    const missing = [
      ...(synapse.recaptchaPublicKey === undefined ? ['recaptcha_public_key'] : []),
      ...(synapse.recaptchaPrivateKey === undefined ? ['recaptcha_private_key'] : []),
    ];
    if (missing.length > 0) {
      warn(
        C.captchaKeys,
        `enable_registration_captcha is true but ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not set, so the captcha section is incomplete.`,
        'Set captcha.site_key and captcha.secret_key to your reCAPTCHA v2 keys, or remove the captcha section.',
        { key: 'enable_registration_captcha', missing },
      );
    }
  }

  // ---- what cannot be carried --------------------------------------------------------------
  const sso = 'Users who sign in this way need an upstream OpenID Connect provider in MAS (for example Keycloak or Dex in front of the same directory); syn2mas cannot migrate their links.';
  if (synapse.saml2Enabled) {
    warn(C.saml, 'saml2_config: MAS does not support SAML, so SAML sign-in is not carried over.', `Put an OIDC bridge (Keycloak, Dex) in front of the SAML IdP and add it under upstream_oauth2.providers. ${sso}`, { key: 'saml2_config' });
  }
  if (synapse.casEnabled) {
    warn(C.cas, 'cas_config: MAS does not support CAS, so CAS sign-in is not carried over.', `Use the CAS server's OIDC mode if it has one, or an OIDC bridge, and add it under upstream_oauth2.providers. ${sso}`, { key: 'cas_config' });
  }
  if (synapse.jwtEnabled) {
    warn(C.jwt, 'jwt_config: MAS does not support JWT login (m.login.jwt), so it is not carried over.', 'Clients that log in with a JWT must switch to OAuth 2.0 against MAS, for example through an upstream OIDC provider.', { key: 'jwt_config' });
  }
  if (synapse.passwordProviders.length > 0) {
    warn(
      C.passwordProviders,
      `password_providers: MAS does not run Synapse password provider modules (${synapse.passwordProviders.join(', ')}); those logins are not carried over.`,
      'For LDAP, connect the directory to an OIDC provider (Keycloak, Dex, Authentik) and add that under upstream_oauth2.providers.',
      { key: 'password_providers', modules: [...synapse.passwordProviders] },
    );
  }
  if (synapse.userConsent) {
    warn(C.userConsent, 'user_consent: MAS does not carry Synapse\'s consent tracking.', 'Set branding.tos_uri to your terms of service so MAS asks new users to accept them.', { key: 'user_consent' });
  }
  warn(
    C.email,
    'email.transport is `blackhole`: Synapse\'s email settings are not carried over, so MAS will not send verification or recovery emails.',
    'Set email.transport to smtp (with hostname, port, mode, username, password_file) or sendmail, and email.from to your sender address.',
    { key: 'email.transport' },
  );

  // ---- upstream providers ------------------------------------------------------------------
  const nextId = providerIdFactory(options);
  const providers: Record<string, unknown>[] = [];
  for (const provider of synapse.oidcProviders) {
    const converted = convertProvider(provider, nextId, warn);
    if (converted !== undefined) providers.push(converted);
  }

  // ---- assemble, in reading order ----------------------------------------------------------
  const document: Record<string, unknown> = { matrix, http, database, passwords, account };
  if (captcha !== undefined) document.captcha = captcha;
  if (providers.length > 0) document.upstream_oauth2 = { providers };
  document.email = { from: '"Authentication Service" <root@localhost>', reply_to: '"Authentication Service" <root@localhost>', transport: 'blackhole' };
  document.secrets = {
    encryption: options.secrets.encryptionHex,
    keys: [{ key: options.secrets.rsaPrivateKeyPem }, { key: options.secrets.ecP256PrivateKeyPem }],
  };

  return { document, yaml: renderYaml(document, synapse, options), findings };
}

type Warn = (code: string, message: string, fix: string, details?: Record<string, unknown>) => void;

function matrixSecret(synapse: ParsedSynapseConfig, options: GenerateOptions, warn: Warn, info: Warn): string {
  // Decision: the shared secret is written inline, not as secret_file pointing at Synapse's
  // secret_path: MAS often runs on another host or in another container, where that path means
  // nothing. The generated file is written mode 0600 for that reason.
  if (options.sharedSecret !== undefined) return options.sharedSecret.reveal();
  const source = synapse.mas?.secret;
  if (source?.kind === 'inline') return source.value.reveal();
  if (source?.kind === 'file') {
    warn(
      C.matrixSecretUnread,
      `${source.key} names a file that was not read, so matrix.secret is a new random value that Synapse does not know.`,
      `Set matrix.secret (or matrix.secret_file) to the content of ${source.path}.`,
      { key: source.key, path: source.path },
    );
    return options.secrets.matrixSecret;
  }
  info(
    C.matrixSecretNew,
    'matrix.secret is a new random value: homeserver.yaml has no matrix_authentication_service.secret.',
    'When switching Synapse to MAS, set matrix_authentication_service.secret (or secret_path, a file holding it) in homeserver.yaml to the same value.',
    { key: 'matrix.secret' },
  );
  return options.secrets.matrixSecret;
}

/**
 * Provider ids are ULIDs with the time of options.now. Their random part comes from an HMAC
 * keyed with the generated encryption key: deterministic for fixed options, unpredictable
 * otherwise, and revealing nothing about the key. The monotonic factory keeps ids in config order.
 */
function providerIdFactory(options: GenerateOptions): () => string {
  let block = 0;
  let pool = Buffer.alloc(0);
  let pos = 0;
  const prng: PRNG = () => {
    if (pos >= pool.length) {
      pool = createHmac('sha256', options.secrets.encryptionHex).update(`mas-tool upstream provider id ${block++}`).digest();
      pos = 0;
    }
    // 256 is a multiple of 32, so each base32 character is uniform.
    return (pool[pos++] as number) / 256;
  };
  const factory = monotonicFactory(prng);
  const time = options.now.getTime();
  // ulid treats a zero or NaN time as "use Date.now()", which would break determinism.
  if (!Number.isFinite(time) || time <= 0) throw new RangeError('generateMasConfig: options.now must be a valid date after 1970');
  return () => factory(time);
}

function convertProvider(p: SynapseOidcProvider, nextId: () => string, warn: Warn): Record<string, unknown> | undefined {
  const at = p.keyPath;
  const base = { key: at, synapseIdpId: p.idpId };
  if (p.clientId === undefined) {
    warn(
      C.providerNoClientId,
      `${at}: has no client_id, so provider ${p.idpId} is left out of upstream_oauth2.providers.`,
      `Add it by hand with synapse_idp_id: ${p.idpId} if any user signed in through it; syn2mas refuses to migrate links to a provider MAS does not have.`,
      base,
    );
    return undefined;
  }

  // Decision: keep providers Synapse has disabled, and keep them enabled. syn2mas maps
  // user_external_ids through every configured provider, but config sync only creates rows for
  // enabled ones, so a disabled provider with existing links breaks the migration.
  if (!p.enabled) {
    warn(
      C.providerDisabled,
      `${at}: is disabled in Synapse but kept enabled in MAS, so that syn2mas can migrate the links users already have to ${p.idpId}.`,
      'After the migration, set enabled: false on it (or remove it if no user is linked to it).',
      base,
    );
  }

  const out: Record<string, unknown> = { id: nextId(), synapse_idp_id: p.idpId };
  if (p.idpName !== undefined) out.human_name = p.idpName;
  if (p.idpBrand !== undefined) out.brand_name = p.idpBrand;
  if (p.issuer !== undefined) out.issuer = p.issuer;
  out.discovery_mode = !p.discover ? 'disabled' : p.skipVerification ? 'insecure' : 'oidc';
  out.client_id = p.clientId;

  // ---- client authentication ----
  let method: string;
  const hasSecret = p.clientSecret !== undefined || p.clientSecretPath !== undefined;
  if (p.clientAuthMethod !== undefined && (SYNAPSE_CLIENT_AUTH_METHODS as readonly string[]).includes(p.clientAuthMethod)) {
    method = p.clientAuthMethod;
  } else {
    // Synapse's default: basic when there is a secret (or a JWT key that makes one), else none.
    method = hasSecret || p.hasClientSecretJwtKey ? 'client_secret_basic' : 'none';
    if (p.clientAuthMethod !== undefined) {
      warn(
        C.clientAuthMethod,
        `${at}.client_auth_method: "${p.clientAuthMethod}" is not one Synapse accepts (client_secret_basic, client_secret_post, none); using ${method}.`,
        'Check token_endpoint_auth_method against what the provider expects.',
        { ...base, key: `${at}.client_auth_method`, value: p.clientAuthMethod, used: method },
      );
    }
  }
  if (p.hasClientSecretJwtKey) {
    warn(
      C.clientSecretJwtKey,
      `${at}.client_secret_jwt_key: MAS cannot build a client secret from a signing key the way Synapse does, so it is not carried over${
        p.clientSecret === undefined && p.clientSecretPath === undefined ? ' and token_endpoint_auth_method is none for now' : ''
      }.`,
      p.clientSecret === undefined && p.clientSecretPath === undefined
        ? 'For Sign in with Apple, set token_endpoint_auth_method: sign_in_with_apple with a sign_in_with_apple section (private_key_file, team_id, key_id); otherwise set client_secret.'
        : 'Check that the client_secret carried over is the one the provider expects.',
      { ...base, key: `${at}.client_secret_jwt_key` },
    );
  }
  if (SECRET_AUTH_METHODS.has(method)) {
    if (p.clientSecret !== undefined) {
      out.client_secret = p.clientSecret.reveal();
    } else if (p.clientSecretPath !== undefined) {
      // Decision: carry client_secret_path as client_secret_file (MAS >= 1.7 reads it and trims it,
      // as Synapse does) rather than dropping it, but warn: the path must exist where MAS runs.
      out.client_secret_file = p.clientSecretPath;
      warn(
        C.clientSecretPath,
        `${at}.client_secret_path: written as client_secret_file: ${p.clientSecretPath}; MAS reads that file itself.`,
        'Make sure that file exists and is readable by MAS on its host (MAS 1.7 or later), or replace client_secret_file with client_secret.',
        { ...base, key: `${at}.client_secret_path`, path: p.clientSecretPath },
      );
    } else {
      // MAS refuses a client_secret_* method without a secret; `none` at least loads.
      if (!p.hasClientSecretJwtKey) {
        warn(
          C.clientSecretMissing,
          `${at}: client_auth_method ${method} needs a client secret and none is configured; token_endpoint_auth_method is set to none.`,
          'Set client_secret (or client_secret_file) and token_endpoint_auth_method to what the provider expects.',
          { ...base, wanted: method },
        );
      }
      method = 'none';
    }
  } else if (p.clientSecretPath !== undefined) {
    warn(
      C.clientSecretPath,
      `${at}.client_secret_path: not carried over, because client_auth_method is ${method}, which sends no secret.`,
      'Remove the secret, or set token_endpoint_auth_method and client_secret_file in the MAS config.',
      { ...base, key: `${at}.client_secret_path`, path: p.clientSecretPath },
    );
  }
  // A secret with method none is dropped silently: Synapse does not send it either, and MAS rejects it.
  out.token_endpoint_auth_method = method;

  // ---- scope ----
  const valid = p.scopes.filter((s) => SCOPE_TOKEN.test(s));
  const invalid = p.scopes.filter((s) => !SCOPE_TOKEN.test(s));
  if (invalid.length > 0) {
    warn(
      C.scope,
      `${at}.scopes: ${invalid.map((s) => JSON.stringify(s)).join(', ')} ${invalid.length === 1 ? 'is not a valid scope' : 'are not valid scopes'} (spaces, quotes and backslashes are not allowed) and ${invalid.length === 1 ? 'was' : 'were'} left out.`,
      'Split scopes into separate list items.',
      { ...base, key: `${at}.scopes`, dropped: invalid },
    );
  }
  if (valid.length > 0) out.scope = valid.join(' ');

  // ---- PKCE ----
  let pkce = 'auto';
  if (p.pkceMethod !== undefined) {
    if ((PKCE_METHODS as readonly string[]).includes(p.pkceMethod)) pkce = p.pkceMethod;
    else {
      warn(
        C.pkceMethod,
        `${at}.pkce_method: "${p.pkceMethod}" is not auto, always or never; using auto.`,
        'Set pkce_method to always (S256) if the provider requires PKCE.',
        { ...base, key: `${at}.pkce_method`, value: p.pkceMethod },
      );
    }
  }
  out.pkce_method = pkce;

  // ---- userinfo ----
  // Decision: the right way round. Synapse calls the userinfo endpoint when user_profile_method is
  // userinfo_endpoint, or when `openid` is not among the scopes (no id_token then). mas-cli
  // derives the opposite for `auto`, which leaves OIDC providers fetching userinfo and plain
  // OAuth 2.0 providers (GitHub) without any claims.
  let profileMethod = p.userProfileMethod ?? 'auto';
  if (!(USER_PROFILE_METHODS as readonly string[]).includes(profileMethod)) {
    warn(
      C.userProfileMethod,
      `${at}.user_profile_method: "${profileMethod}" is not auto or userinfo_endpoint; treated as auto.`,
      'Check fetch_userinfo in the result.',
      { ...base, key: `${at}.user_profile_method`, value: profileMethod },
    );
    profileMethod = 'auto';
  }
  out.fetch_userinfo = profileMethod === 'userinfo_endpoint' || !p.scopes.includes('openid');

  // ---- response mode and extra parameters ----
  const extra = { ...p.additionalAuthorizationParameters };
  if (extra.response_mode !== undefined) {
    const mode = extra.response_mode;
    delete extra.response_mode;
    if ((RESPONSE_MODES as readonly string[]).includes(mode)) out.response_mode = mode;
    else {
      warn(
        C.responseMode,
        `${at}.additional_authorization_parameters.response_mode: "${mode}" is not query or form_post, the modes MAS can receive; left out.`,
        'Set response_mode to query or form_post if the provider needs one.',
        { ...base, key: `${at}.additional_authorization_parameters.response_mode`, value: mode },
      );
    }
  }

  // ---- endpoints ----
  const endpoints = [
    ['authorization_endpoint', p.authorizationEndpoint],
    ['token_endpoint', p.tokenEndpoint],
    ['userinfo_endpoint', p.userinfoEndpoint],
    ['jwks_uri', p.jwksUri],
  ] as const;
  for (const [key, value] of endpoints) {
    if (value === undefined) continue;
    if (isAbsoluteUrl(value)) out[key] = value;
    else {
      warn(
        C.endpointUrl,
        `${at}.${key}: "${value}" is not an absolute URL, which MAS requires; left out.`,
        `Set ${key} to the full https URL of the endpoint.`,
        { ...base, key: `${at}.${key}`, value },
      );
    }
  }

  if (Object.keys(extra).length > 0) {
    for (const [name, value] of Object.entries(extra)) {
      if (/\{\{|\{%|\{#/.test(value)) {
        warn(
          C.authParamTemplate,
          `${at}.additional_authorization_parameters.${name}: MAS renders these values as Jinja templates, and this one contains template markup.`,
          'Check that the value renders to what the provider expects, or escape it with {% raw %}...{% endraw %}.',
          { ...base, key: `${at}.additional_authorization_parameters.${name}` },
        );
      }
    }
    out.additional_authorization_parameters = extra;
  }
  if (p.forwardLoginHint !== undefined) out.forward_login_hint = p.forwardLoginHint;

  // ---- back-channel logout ----
  // The right way round (mas-cli writes do_nothing exactly when Synapse processes back-channel
  // logouts). Synapse ended every device created through the upstream session; MAS's logout_all
  // ends the browser session and every session started from it, which is the same promise.
  out.on_backchannel_logout = p.backchannelLogoutEnabled ? 'logout_all' : 'do_nothing';

  // ---- things Synapse filters on that MAS does not ----
  if (p.hasAttributeRequirements) {
    warn(
      C.attributeRequirements,
      `${at}.attribute_requirements: MAS has no per-provider attribute requirements, so anyone the provider authenticates can sign in.`,
      'Restrict access at the provider (group or role-based client access), or with a MAS policy.',
      { ...base, key: `${at}.attribute_requirements` },
    );
  }
  if (p.hasIdTokenSigningAlgValuesSupported) {
    warn(
      C.idTokenSigningAlgs,
      `${at}.id_token_signing_alg_values_supported: not carried over; MAS expects RS256-signed ID tokens unless told otherwise.`,
      'Set id_token_signed_response_alg if the provider signs ID tokens with another algorithm.',
      { ...base, key: `${at}.id_token_signing_alg_values_supported` },
    );
  }
  if (p.enableRegistration === false) {
    warn(
      C.providerRegistration,
      `${at}.enable_registration is false: MAS has no per-provider switch, so new users will be able to register through ${p.idpId}.`,
      'Restrict who can sign in at the provider, or with a MAS registration policy.',
      { ...base, key: `${at}.enable_registration` },
    );
  }

  // ---- claims ----
  const claims = claimsImports(p, warn, base);
  if (claims !== undefined) out.claims_imports = claims;
  return out;
}

function claimsImports(p: SynapseOidcProvider, warn: Warn, base: Record<string, unknown>): Record<string, unknown> | undefined {
  const m = p.userMappingProvider;
  const cfg = `${p.keyPath}.user_mapping_provider.config`;
  if (!m.isJinja) {
    warn(
      C.mappingModule,
      `${p.keyPath}.user_mapping_provider.module: "${m.module ?? ''}" is custom Python code MAS cannot run; MAS's default claim mapping is used.`,
      'Express the mapping as claims_imports templates (subject, localpart, displayname, email) on the provider.',
      { ...base, key: `${p.keyPath}.user_mapping_provider.module`, module: m.module },
    );
    return undefined;
  }

  const templates: [string, string | undefined][] = [
    ['subject_template', m.subjectTemplate],
    ['localpart_template', m.localpartTemplate],
    ['display_name_template', m.displayNameTemplate],
    ['email_template', m.emailTemplate],
    ['picture_template', m.pictureTemplate],
  ];
  for (const [key, template] of templates) {
    if (template === undefined) continue;
    for (const filter of synapseOnlyFilters(template)) {
      // Decision: copy the template verbatim and warn. Rewriting expressions automatically could
      // change what they mean; the fix names the MAS spelling.
      warn(
        C.jinjaFilter,
        `${cfg}.${key}: uses the Jinja filter \`${filter}\`, which exists in Synapse but not in MAS; the template is copied unchanged and will fail in MAS.`,
        `In the MAS config, ${SYNAPSE_ONLY_FILTERS[filter] ?? 'rewrite the template without it'}.`,
        { ...base, key: `${cfg}.${key}`, filter },
      );
    }
  }

  const claims: Record<string, unknown> = {};
  if (m.subjectTemplate !== undefined) {
    claims.subject = { template: m.subjectTemplate };
    if (m.subjectClaim !== undefined) {
      warn(
        C.subjectTemplateAndClaim,
        `${cfg}: both subject_template and subject_claim are set; subject_template is used, as Synapse does.`,
        'Remove one of them so that the subject is unambiguous.',
        { ...base, key: `${cfg}.subject_claim` },
      );
    }
  } else if (m.subjectClaim !== undefined) {
    claims.subject = { template: claimTemplate(m.subjectClaim) };
  }
  // Without confirm_localpart Synapse creates the account straight from the claims: the localpart
  // must come from the provider (require) and the rest is taken as is (force). With it, the user
  // sees and may edit every value first (suggest).
  const confirm = m.confirmLocalpart;
  if (m.localpartTemplate !== undefined) claims.localpart = { action: confirm ? 'suggest' : 'require', template: m.localpartTemplate };
  if (m.displayNameTemplate !== undefined) claims.displayname = { action: confirm ? 'suggest' : 'force', template: m.displayNameTemplate };
  if (m.emailTemplate !== undefined) claims.email = { action: confirm ? 'suggest' : 'force', template: m.emailTemplate };
  if (m.pictureTemplate !== undefined) {
    warn(
      C.pictureTemplate,
      `${cfg}.picture_template: MAS does not import avatars from the provider; not carried over.`,
      'Users set their avatar in their Matrix client.',
      { ...base, key: `${cfg}.picture_template` },
    );
  }
  return Object.keys(claims).length > 0 ? claims : undefined;
}

/** `{{ user.name }}`, or `{{ user["a-b"] }}` when the claim name is not an identifier. */
function claimTemplate(claim: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(claim) ? `{{ user.${claim} }}` : `{{ user[${JSON.stringify(claim)}] }}`;
}

function synapseOnlyFilters(template: string): string[] {
  const found = new Set<string>();
  for (const name of Object.keys(SYNAPSE_ONLY_FILTERS)) {
    // `x | name`, `x|name(...)`, or a `{% filter name %}` block.
    if (new RegExp(`(?:\\|\\s*|\\{%-?\\s*filter\\s+)${name}\\b`).test(template)) found.add(name);
  }
  return [...found];
}

function isAbsoluteUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

// ---- YAML ------------------------------------------------------------------------------------

function renderYaml(document: Record<string, unknown>, synapse: ParsedSynapseConfig, options: GenerateOptions): string {
  // Decision: serialise with the YAML 1.1 schema so that strings such as "yes", "off" or "0777"
  // come out quoted; the file then reads the same to MAS (YAML 1.2) and to any 1.1 tool.
  const doc = new Document(document, { version: '1.1' });
  doc.commentBefore = [
    ` MAS configuration generated by mas-tool on ${options.now.toISOString()} from:`,
    ...synapse.files.map((f) => `   ${f}`),
    '',
    ' This file holds secrets: the encryption key, the signing keys, the secret shared with',
    ' Synapse (matrix.secret) and upstream client secrets. Keep it readable by MAS only (mode 0600).',
    '',
    ' Before starting MAS, set http.public_base, matrix.endpoint and database.uri (see the',
    ' warnings mas-tool printed), then run `mas-cli config check`.',
  ].join('\n');

  commentKey(doc, ['matrix', 'secret'], ' Also matrix_authentication_service.secret in homeserver.yaml.');
  commentKey(doc, ['matrix', 'endpoint'], " Internal URL of Synapse's client listener, as seen from MAS.");
  commentKey(doc, ['http', 'public_base'], ' Placeholder: the public URL of MAS (not Synapse\'s public_baseurl).');
  commentKey(doc, ['database', 'uri'], " MAS's own empty database, not Synapse's.");
  commentKey(doc, ['email'], " Synapse's email settings are not carried over.");
  commentKey(doc, ['secrets', 'encryption'], ' Never change this once MAS has run: it encrypts stored secrets.');

  return doc.toString({ lineWidth: 0 });
}

/** Puts a comment line above the key at `path`. */
function commentKey(doc: Document, path: (string | number)[], comment: string): void {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const last = path[path.length - 1];
  if (!isMap(parent as Node)) return;
  for (const item of (parent as { items: unknown[] }).items) {
    if (isPair(item) && isScalar(item.key) && item.key.value === last) {
      item.key.commentBefore = comment;
      return;
    }
  }
}
