// The passwords and account sections: both follow from whether Synapse allows password login.
import type { ParsedSynapseConfig } from '../synapse.js';
import { GENERATE_CODES as C } from './codes.js';
import type { FindingSink } from './context.js';

export function passwordsAndAccountSections(
  synapse: ParsedSynapseConfig,
  { warn }: FindingSink,
): { passwords: Record<string, unknown>; account: Record<string, unknown> } {
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
  return { passwords, account };
}
