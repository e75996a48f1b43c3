// The message and fix text of each tallied verify code.
import { plural, type Code, type Tally } from './findings.js';

/** The verb for a count: differs/differ. */
const verb = (n: number, one: string, many: string): string => (n === 1 ? one : many);

function breakdown(t: Tally): string {
  const parts = (['missing', 'unexpected', 'different'] as const)
    .filter((k) => (t.kinds[k] ?? 0) > 0)
    .map((k) => `${t.kinds[k]} ${k === 'missing' ? 'missing in MAS' : k === 'unexpected' ? 'in MAS only' : 'different'}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

const REMIGRATE = 'The MAS database does not hold what the migration writes. Find out what changed it; to start over, migrate again into an empty MAS database.';

/** Message and fix of each tallied code. */
export function describe(code: Code, t: Tally): { message: string; fix?: string } {
  const n = t.count;
  switch (code) {
    case 'E_VERIFY_USERS_MISSING':
      return { message: `${plural(n, 'Synapse user')} that the migration writes ${n === 1 ? 'is' : 'are'} not in MAS.`, fix: REMIGRATE };
    case 'E_VERIFY_USERS_UNEXPECTED':
      return {
        message: `${plural(n, 'MAS user')} ${n === 1 ? 'does' : 'do'} not come from Synapse and ${n === 1 ? 'was' : 'were'} not created after the migration.`,
        fix: 'Check whether this MAS database was used for something else, or had users before the migration.',
      };
    case 'E_VERIFY_USER_FLAGS':
      return {
        message: `${plural(n, 'user')} ${n === 1 ? 'has' : 'have'} a different admin, guest, locked or deactivated state in MAS than in Synapse.`,
        fix: 'Synapse admins become can_request_admin in MAS; locked and deactivated users keep that state. Correct the MAS users (for example with mas-cli manage) or migrate again.',
      };
    case 'E_VERIFY_PASSWORDS':
      return { message: `${plural(n, 'password')} in MAS ${n === 1 ? 'does' : 'do'} not match the Synapse hash${breakdown(t)}.`, fix: REMIGRATE };
    case 'E_VERIFY_EMAILS':
      return { message: `${plural(n, 'email address', 'email addresses')} ${verb(n, 'differs', 'differ')} between Synapse and MAS${breakdown(t)}.`, fix: REMIGRATE };
    case 'E_VERIFY_THREEPIDS':
      return { message: `${plural(n, 'other third-party ID')} (phone numbers) ${verb(n, 'differs', 'differ')} between Synapse and MAS${breakdown(t)}.`, fix: REMIGRATE };
    case 'E_VERIFY_LINKS':
      return {
        message: `${plural(n, 'SSO link')} ${verb(n, 'differs', 'differ')} between Synapse and MAS${breakdown(t)}.`,
        fix: 'Check the provider mapping (synapse_idp_id in the MAS config, or --upstream-provider-mapping) is the one the migration used.',
      };
    case 'E_VERIFY_SESSIONS':
      return { message: `${plural(n, 'session')} (devices) ${verb(n, 'differs', 'differ')} between Synapse and MAS${breakdown(t)}.`, fix: REMIGRATE };
    case 'E_VERIFY_ACCESS_TOKENS':
      return { message: `${plural(n, 'access token')} ${verb(n, 'differs', 'differ')} between Synapse and MAS${breakdown(t)}.`, fix: REMIGRATE };
    case 'E_VERIFY_REFRESH_TOKENS':
      return { message: `${plural(n, 'refresh token')} ${verb(n, 'differs', 'differ')} between Synapse and MAS${breakdown(t)}.`, fix: REMIGRATE };
    case 'E_VERIFY_REGISTRATION_TOKENS':
      return {
        message: `${plural(n, 'registration token')} ${verb(n, 'differs', 'differ')} between Synapse and MAS${breakdown(t)}.`,
        fix: 'Correct them with `mas-tool manage registration-token` (issue, revoke), or migrate again into an empty MAS database.',
      };
    case 'I_VERIFY_NEW_USERS':
      return { message: `${plural(n, 'user')} ${n === 1 ? 'was' : 'were'} created in MAS after the migration.` };
    case 'I_VERIFY_USER_STATE_CHANGED':
      return { message: `${plural(n, 'user')} ${n === 1 ? 'was' : 'were'} locked or deactivated in MAS after the migration.` };
    case 'I_VERIFY_DEACTIVATED_LATER':
      return { message: `${plural(n, 'row')} ${verb(n, 'differs', 'differ')} only because ${n === 1 ? 'its user was' : 'their users were'} deactivated in MAS after the migration${breakdown(t)}.` };
    case 'I_VERIFY_PASSWORDS_CHANGED':
      return { message: `${plural(n, 'user')} ${n === 1 ? 'has' : 'have'} a newer password in MAS than the migrated one (rehashed on login, or changed).` };
    case 'I_VERIFY_NEW_EMAILS':
      return { message: `${plural(n, 'email address', 'email addresses')} ${n === 1 ? 'was' : 'were'} added in MAS after the migration.` };
    case 'I_VERIFY_NEW_LINKS':
      return { message: `${plural(n, 'SSO link')} ${n === 1 ? 'was' : 'were'} made in MAS after the migration.` };
    case 'I_VERIFY_LINKS_UNMAPPED':
      return {
        message: `${plural(n, 'Synapse SSO link')} of identity providers with no MAS provider mapped ${n === 1 ? 'was' : 'were'} not expected in MAS (the migration skips them).`,
      };
    case 'I_VERIFY_NEW_SESSIONS':
      return { message: `${plural(n, 'session')} ${n === 1 ? 'was' : 'were'} started in MAS after the migration.` };
    case 'I_VERIFY_FINISHED_SESSIONS':
      return { message: `${plural(n, 'row')} ${verb(n, 'belongs', 'belong')} to sessions finished in MAS (logged out) since the migration${breakdown(t)}.` };
    case 'I_VERIFY_NEW_TOKENS':
      return { message: `${plural(n, 'token')} ${n === 1 ? 'was' : 'were'} issued by MAS after the migration.` };
    case 'I_VERIFY_NEW_REGISTRATION_TOKENS':
      return { message: `${plural(n, 'registration token')} ${n === 1 ? 'was' : 'were'} created in MAS after the migration.` };
    case 'I_VERIFY_REGISTRATION_TOKENS_CHANGED':
      return { message: `${plural(n, 'migrated registration token')} ${n === 1 ? 'was' : 'were'} used or revoked in MAS since the migration.` };
    case 'I_VERIFY_CONSUMED_REFRESH_TOKENS':
      return { message: `${plural(n, 'migrated token')} ${n === 1 ? 'was' : 'were'} refreshed in MAS since the migration (refresh token consumed, access token expired).` };
    default:
      return { message: code };
  }
}
