// The data `manage` works on and reports, shared by both backends (MAS database, MAS admin API) and by
// the commands written over them. Ids are ULID strings (26 Crockford characters, upper case) on both
// backends; the database backend converts to and from PostgreSQL uuid at its edge.
import type { Secret } from '../secret.js';

export interface MasUser {
  id: string;
  username: string;
  /** RFC 3339 timestamps. */
  createdAt: string;
  lockedAt: string | null;
  deactivatedAt: string | null;
  /** MAS `can_request_admin` (`admin` in the admin API). */
  admin: boolean;
}

/** A user as the operator named it on the command line or in a file. */
export interface UserRef {
  /** Exactly what was given, for messages. */
  input: string;
  /** The localpart to look up (case-insensitively, as MAS does). */
  username: string;
  /** Set when the input looks like a MAS user id; looked up as an id first, then as a username. */
  id?: string;
}

export interface MasEmail {
  id: string;
  userId: string;
  email: string;
}

export interface MasUpstreamProvider {
  id: string;
  enabled: boolean;
  /** For messages: human name, or issuer. */
  label?: string;
}

export interface MasUpstreamLink {
  id: string;
  providerId: string;
  subject: string;
  userId: string | null;
  humanAccountName: string | null;
}

export interface ActiveSessions {
  /** Session ids of each kind that are not finished. */
  compat: string[];
  oauth2: string[];
  browser: string[];
}

export interface NewUser {
  username: string;
  displayName?: string;
  /** Already hashed by the caller on the database backend; plain for the admin API. */
  password?: Secret;
  /** Ask the admin API not to check the localpart with the homeserver (db: nothing to ask). */
  skipHomeserverCheck: boolean;
  /** admin API: skip_password_check on set-password (the database backend checks nothing). */
  ignorePasswordComplexity?: boolean;
  admin: boolean;
  emails: string[];
  upstream: Array<{ providerId: string; subject: string }>;
}

/** What one command did (or, with --dry-run, would do) to one subject (a user, an address, a link). */
export type ItemStatus = 'changed' | 'unchanged' | 'would-change' | 'failed';

export interface ItemResult {
  /** The subject as the operator gave it: "alice", "alice alice@example.com". */
  subject: string;
  status: ItemStatus;
  /** One sentence: "locked", "already an admin", "user not found (closest: alicia)". */
  message: string;
  /** Jobs scheduled for the MAS worker (db backend) or by MAS itself (api backend). */
  jobs?: string[];
  details?: Record<string, unknown>;
  /** Done, but worth a second look: "the account is deactivated: it cannot log in until reactivated". */
  warning?: string;
}

export interface ManageSummary {
  changed: number;
  unchanged: number;
  wouldChange: number;
  failed: number;
}

export interface ManageResult {
  command: string;
  backend: 'api' | 'db';
  dryRun: boolean;
  /** Every item, unless they were handed to the context's sink batch by batch (then empty). */
  items: ItemResult[];
  /** Set by batched commands, whose items may have gone to a sink; else counted from `items`. */
  summary?: ManageSummary;
  /** True when the items went to the context's sink as each batch was done. */
  itemsStreamed?: boolean;
  /**
   * Set when something was not written because some item failed: a batch is all or nothing, and
   * after a failed batch nothing more is written (the rest is still checked, so that every failure
   * is listed); fix the failed lines and run the command again.
   */
  aborted?: string;
  /** Lines of a listing (list-admins), already data, rendered by src/report. */
  listing?: unknown;
}

/** What a registration token can do now: MAS accepts only a usable one. */
export type RegistrationTokenState = 'usable' | 'used-up' | 'expired' | 'revoked';

/** A row of MAS's user_registration_tokens (or an admin API user-registration_token). */
export interface MasRegistrationToken {
  id: string;
  /** A credential: it lets anyone register. Held as a Secret so that it can never be printed by accident. */
  token: Secret;
  /** null: any number of uses. */
  usageLimit: number | null;
  timesUsed: number;
  /** RFC 3339 timestamps. */
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

export interface NewRegistrationToken {
  /** undefined: made up by the backend (MAS's own format over the admin API). */
  token?: Secret;
  usageLimit: number | null;
  /** RFC 3339, or null for a token that never expires. */
  expiresAt: string | null;
}

/** list-users filters; every one given must hold (undefined: either way). */
export interface UserFilter {
  admin?: boolean;
  locked?: boolean;
  deactivated?: boolean;
  guest?: boolean;
  /** A substring of the username or of one of the user's addresses, compared case-insensitively. */
  search?: string;
}

/** Counts of active (unfinished) sessions, by kind. */
export interface SessionCounts {
  compat: number;
  oauth2: number;
  browser: number;
}

export interface UserSummary extends MasUser {
  /** A guest carried from Synapse (legacy_guest in the admin API). */
  guest: boolean;
  emails: string[];
  activeSessions: SessionCounts;
}

export interface UserPage {
  users: UserSummary[];
  /** Whether more users match than were listed. */
  more: boolean;
  /** How many users match, when the backend can say without listing them all. */
  total?: number;
}

export type SessionKind = 'compat' | 'oauth2' | 'browser';

export interface MasSession {
  kind: SessionKind;
  id: string;
  /** The Matrix device (compat sessions, and OAuth 2.0 sessions with a device scope). */
  deviceId: string | null;
  createdAt: string;
  finishedAt: string | null;
  lastActiveAt: string | null;
  lastActiveIp: string | null;
  userAgent: string | null;
  /**
   * Whether the session's tokens carry Synapse admin rights: compat sessions' is_synapse_admin
   * (null over the admin API, which does not show it), OAuth 2.0 sessions' urn:synapse:admin:* scope.
   */
  synapseAdmin: boolean | null;
  /** OAuth 2.0 sessions: the client. */
  clientId?: string;
  clientName?: string | null;
  /** The name the user gave the session, if any. */
  humanName?: string | null;
}
