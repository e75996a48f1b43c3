// Turns Synapse rows into MAS rows. Pure: no I/O, no clock (the run's start time comes in as `now`),
// ids from an IdFactory. Rows arrive already classified by the reader's SQL (synapse-sql.ts):
// only rows that are migrated reach these functions.
//
// Timestamps are numbers of milliseconds since the epoch; Synapse's users.creation_ts is in seconds
// and converted here, once.
import { isIP } from 'node:net';
import type { IdFactory } from './ids.js';

export class TransformError extends Error {}

/** The MAS password version migrated Synapse hashes are stored under (a bcrypt scheme with the pepper). */
export const MIGRATED_PASSWORD_VERSION = 1;

// ---- Synapse rows, as the reader decodes them ----

export interface SynapseUser {
  name: string;
  passwordHash: string | null;
  admin: boolean;
  deactivated: boolean;
  locked: boolean;
  isGuest: boolean;
  /** Seconds, as Synapse stores it. */
  creationTs: number;
}

/** A row of a table that belongs to a user, with that user's creation time (seconds) for its MAS id. */
export interface SynapseOwned {
  userId: string;
  userCreationTs: number;
}

export interface SynapseThreepid extends SynapseOwned {
  medium: string;
  address: string;
  addedAt: number;
}

export interface SynapseExternalId extends SynapseOwned {
  authProvider: string;
  externalId: string;
}

export interface SynapseDevice extends SynapseOwned {
  admin: boolean;
  deviceId: string;
  displayName: string | null;
  lastSeen: number | null;
  ip: string | null;
  userAgent: string | null;
  /** The earliest last_validated of the device's tokens: the compat session's creation time. */
  sessionTs: number | null;
}

export interface SynapseAccessToken extends SynapseOwned {
  id: string;
  deviceId: string | null;
  token: string;
  validUntilMs: number | null;
  lastValidated: number | null;
  sessionTs: number | null;
}

export interface SynapseRefreshPair extends SynapseOwned {
  accessTokenId: string;
  refreshTokenId: string;
  deviceId: string;
  accessToken: string;
  refreshToken: string;
  validUntilMs: number | null;
  lastValidated: number | null;
  sessionTs: number | null;
}

/** A row of Synapse's registration_tokens (no user: tokens belong to the server). */
export interface SynapseRegistrationToken {
  token: string;
  /** NULL: unlimited. */
  usesAllowed: number | null;
  /** Registrations completed with it (pending ones are not carried: they cannot finish under MAS). */
  completed: number;
  /** Milliseconds; NULL: never expires. */
  expiryTime: number | null;
}

// ---- MAS rows ----

export interface MasNewUser {
  userId: string;
  username: string;
  createdAt: number;
  lockedAt: number | null;
  deactivatedAt: number | null;
  canRequestAdmin: boolean;
  isGuest: boolean;
}

export interface MasNewUserPassword {
  userPasswordId: string;
  userId: string;
  hashedPassword: string;
  createdAt: number;
  version: number;
}

export interface MasNewUserEmail {
  userEmailId: string;
  userId: string;
  email: string;
  createdAt: number;
}

export interface MasNewUnsupportedThreepid {
  userId: string;
  medium: string;
  address: string;
  createdAt: number;
}

export interface MasNewUpstreamLink {
  upstreamOauthLinkId: string;
  userId: string;
  upstreamOauthProviderId: string;
  subject: string;
  createdAt: number;
}

export interface MasNewCompatSession {
  compatSessionId: string;
  userId: string;
  deviceId: string | null;
  humanName: string | null;
  createdAt: number;
  isSynapseAdmin: boolean;
  lastActiveAt: number | null;
  lastActiveIp: string | null;
  userAgent: string | null;
}

export interface MasNewCompatAccessToken {
  compatAccessTokenId: string;
  compatSessionId: string;
  accessToken: string;
  createdAt: number;
  expiresAt: number | null;
}

export interface MasNewCompatRefreshToken {
  compatRefreshTokenId: string;
  compatSessionId: string;
  compatAccessTokenId: string;
  refreshToken: string;
  createdAt: number;
}

export interface MasNewUserRegistrationToken {
  userRegistrationTokenId: string;
  token: string;
  usageLimit: number | null;
  timesUsed: number;
  createdAt: number;
  expiresAt: number | null;
}

// ---- rules ----

/**
 * The localpart of a local user ID: '@', the localpart, the FIRST ':', then exactly the server name
 * (which may itself contain a port). Anything else is not ours to migrate.
 */
export function extractLocalpart(userId: string, serverName: string): string {
  if (!userId.startsWith('@')) throw new TransformError(`user ID ${userId} does not start with '@'`);
  const colon = userId.indexOf(':');
  if (colon === -1) throw new TransformError(`user ID ${userId} has no server name`);
  if (userId.slice(colon + 1) !== serverName) throw new TransformError(`user ID ${userId} does not belong to ${serverName}`);
  return userId.slice(1, colon);
}

const seconds = (s: number): number => s * 1000;

/** A user's MAS id, computable from any row that knows the user's ID and creation time. */
export function masUserId(ids: IdFactory, userId: string, creationTs: number): string {
  return ids.id('user', userId, seconds(creationTs));
}

/** The compat session of a device, computable from the device row and from each of its tokens. */
export function deviceSessionId(ids: IdFactory, userId: string, deviceId: string, sessionTs: number | null, now: number): { id: string; createdAt: number } {
  const createdAt = sessionTs ?? now;
  return { id: ids.id('session', `${userId}\u0000${deviceId}`, createdAt), createdAt };
}

/** The MAS user of a Synapse user (transformUser without the password, whose id costs a hash). */
export function transformUserOnly(row: SynapseUser, serverName: string, ids: IdFactory): MasNewUser {
  const createdAt = seconds(row.creationTs);
  return {
    userId: masUserId(ids, row.name, row.creationTs),
    username: extractLocalpart(row.name, serverName),
    createdAt,
    // Synapse keeps no lock or deactivation time; the creation time is what mas-cli writes too.
    lockedAt: row.locked ? createdAt : null,
    deactivatedAt: row.deactivated ? createdAt : null,
    canRequestAdmin: row.admin,
    isGuest: row.isGuest,
  };
}

export function transformUser(row: SynapseUser, serverName: string, ids: IdFactory): { user: MasNewUser; password?: MasNewUserPassword } {
  const user = transformUserOnly(row, serverName, ids);
  const { createdAt } = user;
  // Synapse treats an empty hash as "no password", as it does NULL; mas-cli would copy '' verbatim.
  if (row.passwordHash === null || row.passwordHash === '') return { user };
  return {
    user,
    password: {
      userPasswordId: ids.id('password', row.name, createdAt),
      userId: user.userId,
      hashedPassword: row.passwordHash,
      createdAt,
      version: MIGRATED_PASSWORD_VERSION,
    },
  };
}

export function transformThreepid(
  row: SynapseThreepid,
  ids: IdFactory,
): { kind: 'email'; email: MasNewUserEmail } | { kind: 'unsupported'; threepid: MasNewUnsupportedThreepid } {
  const userId = masUserId(ids, row.userId, row.userCreationTs);
  // Case-sensitive, as Synapse stores media; the address is kept verbatim (mas-cli does not lowercase).
  if (row.medium === 'email') {
    return {
      kind: 'email',
      email: { userEmailId: ids.id('email', `${row.medium}\u0000${row.address}`, row.addedAt), userId, email: row.address, createdAt: row.addedAt },
    };
  }
  return { kind: 'unsupported', threepid: { userId, medium: row.medium, address: row.address, createdAt: row.addedAt } };
}

export function transformExternalId(row: SynapseExternalId, providerId: string, ids: IdFactory): MasNewUpstreamLink {
  const createdAt = seconds(row.userCreationTs);
  return {
    upstreamOauthLinkId: ids.id('link', `${row.authProvider}\u0000${row.externalId}`, createdAt),
    userId: masUserId(ids, row.userId, row.userCreationTs),
    upstreamOauthProviderId: providerId,
    subject: row.externalId,
    // Synapse records no link time; the user's creation time, as mas-cli does.
    createdAt,
  };
}

/**
 * A device's last-seen IP for MAS's inet column: '-' (Synapse's "unknown") and anything that is not
 * a single IPv4 or IPv6 address become NULL. Zone ids (fe80::1%eth0) are refused by inet.
 */
export function parseDeviceIp(ip: string | null): { ip: string | null; invalid: boolean } {
  if (ip === null || ip === '-') return { ip: null, invalid: false };
  if (isIP(ip) !== 0 && !ip.includes('%')) return { ip, invalid: false };
  return { ip: null, invalid: true };
}

export function transformDevice(row: SynapseDevice, ids: IdFactory, now: number): { session: MasNewCompatSession; invalidIp: boolean } {
  const { id, createdAt } = deviceSessionId(ids, row.userId, row.deviceId, row.sessionTs, now);
  const ip = parseDeviceIp(row.ip);
  return {
    session: {
      compatSessionId: id,
      userId: masUserId(ids, row.userId, row.userCreationTs),
      deviceId: row.deviceId,
      humanName: row.displayName,
      createdAt,
      isSynapseAdmin: row.admin,
      lastActiveAt: row.lastSeen,
      lastActiveIp: ip.ip,
      userAgent: row.userAgent,
    },
    invalidIp: ip.invalid,
  };
}

/** A token without a refresh token; a deviceless one also gets a compat session of its own. */
export function transformAccessToken(
  row: SynapseAccessToken,
  ids: IdFactory,
  now: number,
): { token: MasNewCompatAccessToken; session?: MasNewCompatSession } {
  const createdAt = row.lastValidated ?? now;
  let session: MasNewCompatSession | undefined;
  let sessionId: string;
  if (row.deviceId === null) {
    sessionId = devicelessSessionId(ids, row.id, createdAt);
    session = {
      compatSessionId: sessionId,
      userId: masUserId(ids, row.userId, row.userCreationTs),
      deviceId: null,
      humanName: null,
      createdAt,
      // mas-cli never makes a deviceless session an admin session, even for admins.
      isSynapseAdmin: false,
      lastActiveAt: null,
      lastActiveIp: null,
      userAgent: null,
    };
  } else {
    sessionId = deviceSessionId(ids, row.userId, row.deviceId, row.sessionTs, now).id;
  }
  const token: MasNewCompatAccessToken = {
    compatAccessTokenId: ids.id('access', row.id, createdAt),
    compatSessionId: sessionId,
    accessToken: row.token,
    createdAt,
    expiresAt: row.validUntilMs,
  };
  return session === undefined ? { token } : { token, session };
}

function devicelessSessionId(ids: IdFactory, tokenId: string, createdAt: number): string {
  return ids.id('deviceless', tokenId, createdAt);
}

export function transformRefreshPair(
  row: SynapseRefreshPair,
  ids: IdFactory,
  now: number,
): { accessToken: MasNewCompatAccessToken; refreshToken: MasNewCompatRefreshToken } {
  const createdAt = row.lastValidated ?? now;
  const sessionId = deviceSessionId(ids, row.userId, row.deviceId, row.sessionTs, now).id;
  const accessTokenId = ids.id('access', row.accessTokenId, createdAt);
  return {
    accessToken: { compatAccessTokenId: accessTokenId, compatSessionId: sessionId, accessToken: row.accessToken, createdAt, expiresAt: row.validUntilMs },
    refreshToken: {
      compatRefreshTokenId: ids.id('refresh', row.refreshTokenId, createdAt),
      compatSessionId: sessionId,
      compatAccessTokenId: accessTokenId,
      refreshToken: row.refreshToken,
      createdAt,
    },
  };
}

/**
 * A registration token that can still be used. Synapse records no creation time: it is the run's
 * `now`, which a staged migration fixes at its first stage, so every run writes the same row.
 */
export function transformRegistrationToken(row: SynapseRegistrationToken, ids: IdFactory, now: number): MasNewUserRegistrationToken {
  return {
    userRegistrationTokenId: ids.id('registrationToken', row.token, now),
    token: row.token,
    usageLimit: row.usesAllowed,
    timesUsed: row.completed,
    createdAt: now,
    expiresAt: row.expiryTime,
  };
}
