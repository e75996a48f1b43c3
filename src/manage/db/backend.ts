// The database backend of `manage`: writes the MAS database the way `mas-cli manage` does, with the
// worker jobs (queue_jobs rows) that carry each change to Synapse, in the same transaction. It opens
// only a MAS schema it knows (see schema.ts); the SQL lives in one small module per subject.
import type pg from 'pg';
import { connect, describeTarget, type DatabaseTarget } from '../../db/connection.js';
import { DatabaseError, MasToolError } from '../../errors.js';
import type { Secret } from '../../secret.js';
import type { DatabaseOnlyBackend } from '../backend.js';
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
} from '../model.js';
import { createUsers } from './create-users.js';
import { addEmails, findEmails, removeEmails } from './emails.js';
import { scheduleProvisionAll } from './jobs.js';
import { findLinks, linkUsers, listProviders, removeLinks } from './links.js';
import { inspectManageSchema, type ManageSchema } from './schema.js';
import { activeSessions, finishSessions, issueCompatToken, scheduleSyncDevices } from './sessions.js';
import { findToken, insertToken, listTokens, requireTokens, setRevoked } from './registration-tokens.js';
import { MasSql } from './sql.js';
import { listUsers, userSessions } from './user-list.js';
import * as users from './users.js';

export interface DatabaseBackendOptions {
  /** Names the database in error messages; "the MAS database" by default. */
  where?: string;
  /** Whether close() ends the client (true when the backend opened it). */
  ownsClient?: boolean;
}

class DatabaseBackend implements DatabaseOnlyBackend {
  readonly kind = 'db' as const;
  readonly emailsNeedConfirmedAt: boolean;
  readonly #sql: MasSql;
  readonly #schema: ManageSchema;
  readonly #client: pg.Client;
  readonly #ownsClient: boolean;

  constructor(client: pg.Client, schema: ManageSchema, options: DatabaseBackendOptions) {
    this.#client = client;
    this.#sql = new MasSql(client, options.where);
    this.#schema = schema;
    this.#ownsClient = options.ownsClient ?? false;
    this.emailsNeedConfirmedAt = schema.emailsNeedConfirmedAt;
  }

  transaction<T>(work: () => Promise<T>): Promise<T> {
    return this.#sql.transaction(work);
  }

  findUsers(refs: readonly UserRef[]): Promise<Map<string, MasUser>> {
    return users.findUsers(this.#sql, refs);
  }

  similarUsernames(username: string, limit: number): Promise<string[]> {
    return users.similarUsernames(this.#sql, this.#schema.trigram, username, limit);
  }

  listAdmins(): Promise<MasUser[]> {
    return users.listAdmins(this.#sql);
  }

  listUsers(filter: UserFilter, limit: number): Promise<UserPage> {
    return listUsers(this.#sql, filter, limit);
  }

  createUsers(newUsers: readonly NewUser[], passwordVersion?: number): Promise<MasUser[]> {
    return createUsers(this.#sql, this.#schema, newUsers, passwordVersion);
  }

  setAdmin(userIds: readonly string[], admin: boolean): Promise<void> {
    return users.setAdmin(this.#sql, userIds, admin);
  }

  lock(userIds: readonly string[]): Promise<void> {
    return users.lock(this.#sql, userIds);
  }

  unlock(userIds: readonly string[]): Promise<void> {
    return users.unlock(this.#sql, userIds);
  }

  deactivate(userIds: readonly string[], erase: boolean): Promise<void> {
    return users.deactivate(this.#sql, userIds, erase);
  }

  reactivate(userIds: readonly string[]): Promise<void> {
    return users.reactivate(this.#sql, userIds);
  }

  async setPassword(userId: string, password: Secret, options: { version?: number; ignoreComplexity: boolean }): Promise<void> {
    // Here `password` is already the hash; complexity was the caller's business, before hashing.
    if (options.version === undefined) throw new Error('setPassword: a password hash needs the version of the scheme that made it');
    await users.setPassword(this.#sql, userId, password, options.version);
  }

  findEmails(query: { userIds?: readonly string[]; emails?: readonly string[] }): Promise<MasEmail[]> {
    return findEmails(this.#sql, query);
  }

  addEmails(items: ReadonlyArray<{ userId: string; email: string }>): Promise<void> {
    return addEmails(this.#sql, this.#schema, items);
  }

  removeEmails(emails: readonly MasEmail[]): Promise<void> {
    return removeEmails(this.#sql, this.#schema, emails);
  }

  listProviders(): Promise<MasUpstreamProvider[]> {
    return listProviders(this.#sql);
  }

  findLinks(query: { pairs?: ReadonlyArray<{ providerId: string; subject: string }>; userIds?: readonly string[] }): Promise<MasUpstreamLink[]> {
    return findLinks(this.#sql, query);
  }

  addLinks(items: ReadonlyArray<{ userId: string; providerId: string; subject: string; orphanLinkId?: string }>): Promise<void> {
    // No job: Synapse does not know about upstream links.
    return this.#sql.transaction(() => linkUsers(this.#sql, items));
  }

  removeLinks(links: readonly MasUpstreamLink[]): Promise<void> {
    return removeLinks(this.#sql, links);
  }

  activeSessions(userId: string): Promise<ActiveSessions> {
    return activeSessions(this.#sql, userId);
  }

  finishSessions(userId: string, sessions: ActiveSessions): Promise<void> {
    return finishSessions(this.#sql, userId, sessions);
  }

  userSessions(userId: string, options: { includeFinished: boolean }): Promise<MasSession[]> {
    return userSessions(this.#sql, userId, options.includeFinished);
  }

  async listRegistrationTokens(): Promise<MasRegistrationToken[]> {
    requireTokens(this.#schema);
    return listTokens(this.#sql);
  }

  async findRegistrationToken(ref: { id?: string; token?: string }): Promise<MasRegistrationToken | undefined> {
    requireTokens(this.#schema);
    return findToken(this.#sql, ref);
  }

  async issueRegistrationToken(token: NewRegistrationToken): Promise<MasRegistrationToken> {
    requireTokens(this.#schema);
    return insertToken(this.#sql, token);
  }

  async setRegistrationTokenRevoked(id: string, revoked: boolean): Promise<MasRegistrationToken> {
    requireTokens(this.#schema);
    return setRevoked(this.#sql, id, revoked);
  }

  provisionAllUsers(): Promise<number> {
    return this.#sql.transaction(() => scheduleProvisionAll(this.#sql));
  }

  issueCompatToken(userId: string, deviceId: string, synapseAdmin: boolean): Promise<{ token: Secret; sessionId: string }> {
    return issueCompatToken(this.#sql, userId, deviceId, synapseAdmin);
  }

  scheduleSyncDevices(userId: string): Promise<void> {
    return scheduleSyncDevices(this.#sql, userId);
  }

  async close(): Promise<void> {
    if (this.#ownsClient) await this.#client.end().catch(() => undefined);
  }
}

/** A backend over a connected client whose schema was already inspected (tests, or a shared connection). */
export function databaseBackendOn(client: pg.Client, schema: ManageSchema, options: DatabaseBackendOptions = {}): DatabaseOnlyBackend {
  return new DatabaseBackend(client, schema, options);
}

/** Connects to the MAS database, checks its schema is one mas-tool can write, and returns the backend. */
export async function openDatabaseBackend(target: DatabaseTarget): Promise<DatabaseOnlyBackend> {
  const client = await connect(target);
  const where = `the ${describeTarget(target)}`;
  try {
    const schema = await inspectManageSchema(client).catch((cause: unknown) => {
      throw cause instanceof MasToolError ? cause : new DatabaseError(`reading the MAS schema of ${where}`, cause);
    });
    return databaseBackendOn(client, schema, { where, ownsClient: true });
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}
