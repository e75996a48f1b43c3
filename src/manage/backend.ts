// The primitives `manage` commands are written over. Two implementations: src/manage/db (writes the
// MAS database as `mas-cli manage` does, with queue_jobs rows for the MAS worker) and src/manage/api
// (the MAS admin API). Commands decide what to do (and whether it is already done) from the reads,
// then call the writes; nothing here decides policy or prints.
//
// Every method takes a batch: the database backend does one statement per batch, the admin API backend
// one request per item (the API has no batch endpoints).
import type { Secret } from '../secret.js';
import type {
  ActiveSessions,
  MasEmail,
  MasRegistrationToken,
  MasSession,
  MasUpstreamLink,
  MasUpstreamProvider,
  MasUser,
  NewRegistrationToken,
  NewUser,
  UserFilter,
  UserPage,
  UserRef,
} from './model.js';

export type BackendKind = 'api' | 'db';

/** Names of the MAS worker jobs a write scheduled (db) or that MAS schedules itself (api). */
export type JobName = 'provision-user' | 'sync-devices' | 'deactivate-user' | 'reactivate-user';

export interface ManageBackend {
  readonly kind: BackendKind;

  /**
   * Runs `work` as one unit: on the database backend one transaction (committed when `work`
   * resolves, rolled back when it throws); on the admin API backend simply runs it (there is no
   * transaction; each request is its own).
   */
  transaction<T>(work: () => Promise<T>): Promise<T>;

  // --- users -------------------------------------------------------------------------------------

  /**
   * Looks every reference up at once. A ref with `id` is looked up by id first; otherwise (or if no
   * user has that id) by username, case-insensitively, and when several usernames differ only by
   * case the exact one wins (else none), as MAS does. Result: ref.input -> user; missing = not found.
   */
  findUsers(refs: readonly UserRef[]): Promise<Map<string, MasUser>>;

  /** Up to `limit` existing usernames closest to `username` (for "did you mean"), closest first. */
  similarUsernames(username: string, limit: number): Promise<string[]>;

  /** Every user with `can_request_admin`, ordered by username. */
  listAdmins(): Promise<MasUser[]>;

  /**
   * Up to `limit` users matching the filter, oldest first (by id, the admin API's order), each with
   * its addresses and active session counts.
   */
  listUsers(filter: UserFilter, limit: number): Promise<UserPage>;

  /**
   * Creates users. db: one transaction writes users, user_passwords (the hash in `password` is stored
   * with `passwordVersion`), user_emails, upstream_oauth_links (attaching an orphan link with that
   * subject if there is one), can_request_admin, and one provision-user job each with
   * set_display_name. api: POST /users, then set-password, user-emails, upstream-oauth-links and
   * set-admin per user. Returns the created users in input order.
   */
  createUsers(users: readonly NewUser[], passwordVersion?: number): Promise<MasUser[]>;

  /** Sets can_request_admin (no job: nothing changes on Synapse). */
  setAdmin(userIds: readonly string[], admin: boolean): Promise<void>;

  /** db: locked_at = now + provision-user. api: POST /users/{id}/lock. */
  lock(userIds: readonly string[]): Promise<void>;

  /** db: locked_at = NULL + provision-user. api: POST /users/{id}/unlock. */
  unlock(userIds: readonly string[]): Promise<void>;

  /**
   * db: deactivated_at = now + deactivate-user {hs_erase: erase}. api: POST /users/{id}/deactivate
   * {skip_erase: !erase}.
   */
  deactivate(userIds: readonly string[], erase: boolean): Promise<void>;

  /** db: reactivate-user job (the worker reactivates on Synapse, then clears deactivated_at). api: POST /users/{id}/reactivate. */
  reactivate(userIds: readonly string[]): Promise<void>;

  /**
   * Sets a new password. db: `password` is already the hash, stored as a new user_passwords row with
   * `version` (no job). api: `password` is the plain password, POST /users/{id}/set-password with
   * skip_password_check = ignoreComplexity.
   */
  setPassword(userId: string, password: Secret, options: { version?: number; ignoreComplexity: boolean }): Promise<void>;

  // --- emails ------------------------------------------------------------------------------------

  /** The addresses of these users, and of anyone holding one of `emails` (case-insensitively). */
  findEmails(query: { userIds?: readonly string[]; emails?: readonly string[] }): Promise<MasEmail[]>;

  /** Adds addresses (confirmed_at = now on a pre-1.10 schema) and schedules provision-user per user. */
  addEmails(items: ReadonlyArray<{ userId: string; email: string }>): Promise<void>;

  /** Removes addresses and schedules provision-user per user. */
  removeEmails(emails: readonly MasEmail[]): Promise<void>;

  // --- upstream links ----------------------------------------------------------------------------

  /** Every upstream provider MAS knows (from its database or GET /upstream-oauth-providers). */
  listProviders(): Promise<MasUpstreamProvider[]>;

  /** Links matching any of the (providerId, subject) pairs, or belonging to any of the users. */
  findLinks(query: { pairs?: ReadonlyArray<{ providerId: string; subject: string }>; userIds?: readonly string[] }): Promise<MasUpstreamLink[]>;

  /**
   * Links users to upstream subjects. An item with `orphanLinkId` attaches that existing link (one
   * with no user) instead of creating one.
   */
  addLinks(items: ReadonlyArray<{ userId: string; providerId: string; subject: string; orphanLinkId?: string }>): Promise<void>;

  removeLinks(links: readonly MasUpstreamLink[]): Promise<void>;

  // --- sessions ----------------------------------------------------------------------------------

  activeSessions(userId: string): Promise<ActiveSessions>;

  /** The user's sessions of every kind (finished ones too with `includeFinished`), last active first. */
  userSessions(userId: string, options: { includeFinished: boolean }): Promise<MasSession[]>;

  /** Finishes these sessions (finished_at = now) and schedules sync-devices for the user. */
  finishSessions(userId: string, sessions: ActiveSessions): Promise<void>;

  // --- registration tokens -------------------------------------------------------------------------

  /** Every registration token, oldest first. */
  listRegistrationTokens(): Promise<MasRegistrationToken[]>;

  /** The token with this id, or whose text is `token`; undefined when none. */
  findRegistrationToken(ref: { id?: string; token?: string }): Promise<MasRegistrationToken | undefined>;

  /** Creates a token; MAS_TOOL_REGISTRATION_TOKEN_EXISTS when its text is taken. */
  issueRegistrationToken(token: NewRegistrationToken): Promise<MasRegistrationToken>;

  /** Sets or clears revoked_at. */
  setRegistrationTokenRevoked(id: string, revoked: boolean): Promise<MasRegistrationToken>;

  /** Releases the database connection (db) or forgets the token (api; the caller owns the HTTP client). */
  close(): Promise<void>;
}

/** What only the database backend can do: the admin API has no endpoint for these. */
export interface DatabaseOnlyBackend extends ManageBackend {
  readonly kind: 'db';

  /** One provision-user job per user (locked and deactivated ones too, as mas-cli does); the count. */
  provisionAllUsers(): Promise<number>;

  /** A compat session with a never-expiring `mct_` token; returns the token. */
  issueCompatToken(userId: string, deviceId: string, synapseAdmin: boolean): Promise<{ token: Secret; sessionId: string }>;

  /** A sync-devices job for the user (after a failed device upsert, as mas-cli does). */
  scheduleSyncDevices(userId: string): Promise<void>;

  /** Whether user_emails still has confirmed_at (MAS before v1.10). */
  readonly emailsNeedConfirmedAt: boolean;
}
