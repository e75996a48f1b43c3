// Validation of what an operator asks `manage` to create, checked before anything is written so that
// a bulk run fails on line 7 of the file rather than half-way through. Each check returns a sentence
// saying exactly what is wrong (which character, where), or undefined when the value is fine.
import { randomInt } from 'node:crypto';

/** MAS's limit on a username, in characters (the admin API and GraphQL check it). */
export const MAX_USERNAME_LENGTH = 255;
/** The Matrix spec's limit on a full user ID, in bytes. */
export const MAX_USER_ID_BYTES = 255;
/** RFC 5321's limit on a forward path, which bounds what can be delivered to. */
export const MAX_EMAIL_LENGTH = 254;
export const MAX_DEVICE_ID_LENGTH = 255;

// MAS accepts lower-case ASCII letters, digits and = _ - . / + in a username (admin API, GraphQL).
const USERNAME_CHAR = /^[a-z0-9=_\-./+]$/;

/** Names a character for a message: printable ones quoted, the others by code point. */
export function describeChar(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  if (c === ' ') return `a space (${hex})`;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return `the control character ${hex}`;
  if (/\s/u.test(c)) return `the blank character ${hex}`;
  return cp < 0x80 ? `'${c}'` : `'${c}' (${hex})`;
}

/**
 * MAS's username rules for a new user, and the Matrix limit on the whole `@localpart:server`.
 * Positions in messages count characters from 1.
 */
export function validateUsername(localpart: string, serverName: string): string | undefined {
  if (localpart === '') return 'The username is empty.';
  const chars = [...localpart];
  for (const [index, c] of chars.entries()) {
    if (USERNAME_CHAR.test(c)) continue;
    const where = `at position ${index + 1}`;
    if (c !== c.toLowerCase() && /^[a-z0-9=_\-./+]+$/.test(localpart.toLowerCase())) {
      return `The username "${localpart}" has the upper-case letter ${describeChar(c)} ${where}; MAS usernames are lower case (use "${localpart.toLowerCase()}").`;
    }
    return `The username "${localpart}" has ${describeChar(c)} ${where}; MAS allows only a-z, 0-9 and = _ - . / + in a username.`;
  }
  if (localpart.startsWith('_')) {
    return `The username "${localpart}" starts with '_'; MAS does not allow that (by convention the prefix belongs to application-service users).`;
  }
  if (chars.length > MAX_USERNAME_LENGTH) {
    return `The username is ${chars.length} characters long; MAS allows at most ${MAX_USERNAME_LENGTH}.`;
  }
  const userId = `@${localpart}:${serverName}`;
  const bytes = Buffer.byteLength(userId, 'utf8');
  if (bytes > MAX_USER_ID_BYTES) {
    return `The user ID @${localpart}:${serverName} would be ${bytes} bytes long; Matrix allows at most ${MAX_USER_ID_BYTES}, so the username can be at most ${MAX_USER_ID_BYTES - (bytes - localpart.length)} characters on ${serverName}.`;
  }
  return undefined;
}

/**
 * A practical check of an email address: enough to catch typos and pasted junk (a missing '@', a
 * space, a domain without a dot), not RFC 5322 in full, which accepts addresses no mail system
 * delivers to. 'localhost' is allowed as a domain for test setups.
 */
export function validateEmail(address: string): string | undefined {
  if (address === '') return 'The email address is empty.';
  const length = [...address].length;
  if (length > MAX_EMAIL_LENGTH) return `The email address is ${length} characters long; at most ${MAX_EMAIL_LENGTH} can be delivered to.`;
  const chars = [...address];
  for (const [index, c] of chars.entries()) {
    if (/\s/u.test(c) || /\p{Cc}/u.test(c)) return `The email address "${address}" has ${describeChar(c)} at position ${index + 1}.`;
  }
  const at = address.indexOf('@');
  if (at < 0) return `The email address "${address}" has no '@'.`;
  if (address.indexOf('@', at + 1) >= 0) return `The email address "${address}" has more than one '@'.`;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local === '') return `The email address "${address}" has nothing before the '@'.`;
  if (domain === '') return `The email address "${address}" has nothing after the '@'.`;
  if (domain.split('.').some((label) => label === '')) return `The domain "${domain}" of "${address}" has an empty part (a leading, trailing or doubled '.').`;
  if (!domain.includes('.') && domain.toLowerCase() !== 'localhost') {
    return `The domain "${domain}" of "${address}" has no '.'; a mail domain looks like example.com.`;
  }
  return undefined;
}

/**
 * A device id as Matrix and MAS can use it: 1 to 255 printable ASCII characters, no spaces. MAS also
 * puts the id into an OAuth 2.0 scope token (urn:matrix:client:device:ID), and RFC 6749 scope tokens
 * cannot hold '"' or '\', so those are refused too.
 */
export function validateDeviceId(id: string): string | undefined {
  if (id === '') return 'The device ID is empty.';
  const chars = [...id];
  for (const [index, c] of chars.entries()) {
    const cp = c.codePointAt(0) ?? 0;
    const where = `at position ${index + 1}`;
    if (cp <= 0x20 || cp >= 0x7f) {
      return `The device ID "${id}" has ${describeChar(c)} ${where}; a device ID is printable ASCII without spaces.`;
    }
    if (c === '"' || c === '\\') {
      return `The device ID "${id}" has ${describeChar(c)} ${where}; MAS cannot put a device ID with '"' or '\\' into an OAuth 2.0 scope.`;
    }
  }
  if (chars.length > MAX_DEVICE_ID_LENGTH) return `The device ID is ${chars.length} characters long; at most ${MAX_DEVICE_ID_LENGTH} are allowed.`;
  return undefined;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const GENERATED_DEVICE_ID_LENGTH = 10;

/**
 * A new device id as MAS generates one: 10 ASCII letters (both cases) and digits. randomInt draws
 * from the CSPRNG with rejection sampling, so every character is equally likely (no modulo bias).
 */
export function randomDeviceId(): string {
  let id = '';
  for (let i = 0; i < GENERATED_DEVICE_ID_LENGTH; i++) id += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return id;
}
