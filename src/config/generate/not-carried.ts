// Warnings for what homeserver.yaml configures that has no place in the MAS config.
import type { ParsedSynapseConfig } from '../synapse.js';
import { GENERATE_CODES as C } from './codes.js';
import type { FindingSink } from './context.js';

export function warnNotCarried(synapse: ParsedSynapseConfig, { warn }: FindingSink): void {
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
}
