// One Synapse OIDC provider as a MAS upstream_oauth2 provider: client authentication, scope,
// PKCE, userinfo, endpoints, back-channel logout, and warnings for what MAS does differently.
import type { SynapseOidcProvider } from '../synapse.js';
import { claimsImports } from './claims.js';
import { GENERATE_CODES as C } from './codes.js';
import type { Warn } from './context.js';

/** The token endpoint auth methods Synapse itself accepts for `client_auth_method`. */
const SYNAPSE_CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
const SECRET_AUTH_METHODS = new Set(['client_secret_basic', 'client_secret_post', 'client_secret_jwt']);
const PKCE_METHODS = ['auto', 'always', 'never'] as const;
const RESPONSE_MODES = ['query', 'form_post'] as const;
const USER_PROFILE_METHODS = ['auto', 'userinfo_endpoint'] as const;

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function convertProvider(p: SynapseOidcProvider, nextId: () => string, warn: Warn): Record<string, unknown> | undefined {
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

function isAbsoluteUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
