// Which homeserver.yaml options Synapse refuses or ignores once it delegates authentication to MAS
// (matrix_authentication_service.enabled), and why: one table for `config synapse-after`, which
// removes them at cut-over, and for doctor's config.synapse_conflicts, which fails on the refused
// ones. Synapse's own list is synapse/config/mas.py (check_config_conflicts); the ignored ones are
// options of features Synapse no longer serves beside MAS (its registration, SSO and token APIs).
import type { ParsedSynapseConfig } from './synapse.js';

/** What Synapse does with a set option beside MAS. */
export type Coexistence = 'refused' | 'ignored';

export interface MasOptionRule {
  /** A top-level key of homeserver.yaml, or `section.key` for one inside a section. */
  key: string;
  /** One line: why the option goes at cut-over. */
  why: string;
  /** The key of the conflict (below) that makes this option refused, when it is not `key` itself. */
  conflictKey?: string;
  /** Refused whenever it is set, not only when enabled (Synapse 1.157's msc3861 rule). */
  alwaysRefused?: boolean;
}

export const MAS_OPTION_RULES: readonly MasOptionRule[] = [
  { key: 'password_config', why: 'passwords are checked by MAS now (its passwords section; the pepper belongs to its v1 bcrypt scheme)' },
  { key: 'enable_registration', why: 'registration happens in MAS (account.password_registration_enabled in the MAS config)' },
  { key: 'disable_registration', why: 'the old spelling of enable_registration; registration happens in MAS' },
  { key: 'enable_registration_without_verification', why: 'registration happens in MAS' },
  { key: 'registrations_require_3pid', why: 'MAS asks for an address at registration (account.password_registration_email_required)' },
  { key: 'allowed_local_3pids', why: 'addresses are added in MAS (policy.data.emails restricts them)' },
  { key: 'registration_requires_token', why: 'MAS asks for registration tokens (account.password_registration_token_required); syn2mas carries the tokens' },
  { key: 'registration_shared_secret', why: "Synapse's shared-secret registration API is not served beside MAS (use mas-tool manage register-user)" },
  { key: 'registration_shared_secret_path', why: "Synapse's shared-secret registration API is not served beside MAS (use mas-tool manage register-user)" },
  { key: 'enable_registration_captcha', why: 'the registration captcha is shown by MAS (its captcha section)' },
  { key: 'recaptcha_public_key', why: 'the captcha is shown by MAS (captcha.site_key)' },
  { key: 'recaptcha_private_key', why: 'the captcha is shown by MAS (captcha.secret_key)' },
  { key: 'recaptcha_siteverify_api', why: 'the captcha is checked by MAS' },
  { key: 'enable_3pid_changes', why: 'email addresses are changed in MAS (account.email_change_allowed)' },
  { key: 'user_consent', why: 'consent to the terms is collected by MAS (branding.tos_uri)' },
  { key: 'oidc_providers', why: 'single sign-on is done by MAS (upstream_oauth2.providers, with synapse_idp_id so that existing links are kept)' },
  { key: 'oidc_config', why: 'single sign-on is done by MAS (upstream_oauth2.providers, synapse_idp_id: oidc)' },
  { key: 'saml2_config', why: 'SAML login is not available beside MAS (put an OIDC bridge in front of the identity provider)' },
  { key: 'cas_config', why: 'CAS login is not available beside MAS (use an OIDC provider in upstream_oauth2.providers)' },
  { key: 'jwt_config', why: 'JWT login is not available beside MAS (use an OIDC provider in upstream_oauth2.providers)' },
  { key: 'sso', why: "these settings only served Synapse's own single sign-on" },
  { key: 'password_providers', why: 'password provider modules do not run beside MAS (put an OIDC provider such as Dex in front of LDAP)' },
  { key: 'ldap_config', conflictKey: 'password_providers', why: 'the LDAP password provider does not run beside MAS (put an OIDC provider such as Dex in front of LDAP)' },
  { key: 'login_via_existing_session', why: 'signing in a new device is done by MAS' },
  { key: 'refresh_token_lifetime', why: 'MAS issues the tokens and decides their lifetimes' },
  { key: 'refreshable_access_token_lifetime', why: 'MAS issues the tokens and decides their lifetimes' },
  { key: 'nonrefreshable_access_token_lifetime', why: 'MAS issues the tokens and decides their lifetimes' },
  { key: 'session_lifetime', why: 'MAS issues the tokens and decides their lifetimes' },
  { key: 'experimental_features.msc3861', alwaysRefused: true, why: 'the experimental delegation is replaced by matrix_authentication_service (Synapse 1.157 refuses any msc3861 block)' },
];

/** A refused option as doctor reports it: the key, what is wrong, what to do. */
export interface Conflict {
  key: string;
  problem: string;
  fix: string;
}

/**
 * The options of this config that Synapse refuses to start with once matrix_authentication_service
 * is enabled, and notes about what could not be judged. With the integration on, Synapse's default
 * for password_config.enabled is false, so a true value was written; with it off the default is
 * true, and only an explicit only_for_reauth is certain.
 */
export function synapseConflicts(s: ParsedSynapseConfig): { list: Conflict[]; notes: string[] } {
  const list: Conflict[] = [];
  const notes: string[] = [];
  const integrationOn = s.mas?.enabled === true;
  const pw = s.passwordConfig.enabled;
  if (pw === 'only_for_reauth' || (pw === true && integrationOn)) {
    list.push({
      key: 'password_config.enabled',
      problem: `is ${pw === true ? 'true' : 'only_for_reauth'}: Synapse would check passwords itself`,
      fix: 'remove it or set it to false; passwords live in MAS (passwords section of the MAS config)',
    });
  } else if (pw === true) {
    notes.push('password_config.enabled was not judged: it defaults to true until matrix_authentication_service is enabled, then to false; if homeserver.yaml sets it to true explicitly, remove that line.');
  }
  if (s.enableRegistration) {
    list.push({ key: 'enable_registration', problem: 'is true: registration is done by MAS', fix: 'set it to false; to let people sign up, set account.password_registration_enabled: true in the MAS config' });
  }
  if (s.userConsent) {
    list.push({ key: 'user_consent', problem: 'is set: consent is collected by MAS', fix: 'remove it; put the terms of service URL in branding.tos_uri in the MAS config' });
  }
  for (const p of s.oidcProviders.filter((o) => !o.legacy || o.enabled)) {
    list.push({
      key: p.keyPath,
      problem: `configures the OIDC provider ${p.idpId}${p.issuer !== undefined ? ` (${p.issuer})` : ''}: single sign-on is done by MAS`,
      fix: `move it to upstream_oauth2.providers in the MAS config with synapse_idp_id: ${p.idpId} (so existing links are kept), then remove it from homeserver.yaml`,
    });
  }
  if (s.saml2Enabled) {
    list.push({ key: 'saml2_config', problem: 'enables SAML login, which MAS does not offer', fix: 'remove it; put an OIDC bridge in front of the SAML identity provider and configure that in upstream_oauth2.providers' });
  }
  if (s.casEnabled) list.push({ key: 'cas_config', problem: 'enables CAS login, which MAS does not offer', fix: 'remove it; use an OIDC provider in upstream_oauth2.providers instead' });
  if (s.jwtEnabled) {
    list.push({ key: 'jwt_config.enabled', problem: 'is true: JWT login is not available with MAS', fix: 'set it to false (or remove jwt_config); use an OIDC provider in upstream_oauth2.providers instead' });
  }
  if (s.passwordProviders.length > 0) {
    list.push({
      key: 'password_providers',
      problem: `lists ${s.passwordProviders.join(', ')} (or ldap_config is enabled): password provider modules do not run with MAS`,
      fix: 'remove password_providers (and ldap_config); for LDAP, put an OIDC provider such as Dex or Keycloak in front of it and configure it in upstream_oauth2.providers',
    });
  }
  if (s.enableRegistrationCaptcha) {
    list.push({ key: 'enable_registration_captcha', problem: 'is true: registration is done by MAS', fix: 'remove it; configure the captcha section of the MAS config instead' });
  }
  if (s.loginViaExistingSessionEnabled) {
    list.push({ key: 'login_via_existing_session.enabled', problem: 'is true: logins are issued by MAS', fix: 'set it to false (MAS handles signing in a new device)' });
  }
  for (const key of s.tokenLifetimeKeys) list.push({ key, problem: 'is set: MAS issues the tokens and decides their lifetime', fix: 'remove it' });
  if (s.enable3pidChanges === true) list.push({ key: 'enable_3pid_changes', problem: 'is true: email addresses are managed in MAS', fix: 'remove it or set it to false' });
  return { list, notes };
}

/** Whether Synapse refuses this rule's option in a config that has the integration enabled. */
export function isRefused(rule: MasOptionRule, conflicts: readonly Conflict[]): boolean {
  if (rule.alwaysRefused === true) return true;
  const key = rule.conflictKey ?? rule.key;
  return conflicts.some((c) => c.key === key || c.key.startsWith(`${key}.`) || c.key.startsWith(`${key}[`));
}
