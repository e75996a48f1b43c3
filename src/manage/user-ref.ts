// How an operator may name a user: a localpart ("alice"), a Matrix ID ("@alice:example.com", which
// must be on this server), or a MAS user id (a ULID). mas-cli accepts only the bare username and
// answers "User not found" to a Matrix ID; people paste Matrix IDs, so we take all three.
import { UsageError } from '../errors.js';
import type { UserRef } from './model.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/i;

export function parseUserRef(input: string, serverName: string): UserRef {
  const raw = input.trim();
  if (raw === '') throw new UsageError('An empty user was given.', { hint: 'Name a user as alice, @alice:server or a MAS user id.' });
  if (raw.startsWith('@')) {
    const colon = raw.indexOf(':');
    if (colon < 0) return { input, username: raw.slice(1) };
    const localpart = raw.slice(1, colon);
    const server = raw.slice(colon + 1);
    if (localpart === '') throw new UsageError(`"${input}" has an empty localpart.`);
    if (server !== serverName) {
      throw new UsageError(`${input} is not on this server: this MAS serves ${serverName} (matrix.homeserver).`, {
        hint: 'Users of other servers are not in this MAS; check the server name, or the MAS config you passed with -c.',
      });
    }
    return { input, username: localpart };
  }
  if (ULID.test(raw)) return { input, username: raw, id: raw.toUpperCase() };
  return { input, username: raw };
}

/** `@localpart:server`, for messages. */
export function matrixId(username: string, serverName: string): string {
  return `@${username}:${serverName}`;
}
