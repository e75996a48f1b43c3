// The admin API backend of `mas-tool manage`: every ManageBackend primitive as MAS admin API requests,
// one request per item (the API has no batch endpoints and no transactions). MAS itself validates,
// talks to the homeserver and schedules its jobs, so this backend only asks and relays what MAS says.
import type { ParsedMasConfig } from '../../config/mas.js';
import { readSecretSource } from '../../config/secret-source.js';
import { MasToolError, UsageError } from '../../errors.js';
import type { HttpClient } from '../../http/client.js';
import { chooseAdminClient, ENABLE_ADMIN_CLIENT_YAML, ADMIN_API_DOCS } from '../../http/openid.js';
import type { Secret } from '../../secret.js';
import type { ManageBackend } from '../backend.js';
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
import { AdminApiClient } from './admin-client.js';
import { AdminApiError, incompleteError } from './errors.js';
import { toEmail, toLink, toProvider, toUser, type ApiResource } from './resources.js';
import * as tokens from './registration-tokens.js';
import { rankBySimilarity, searchPrefixes } from './similar.js';
import * as listing from './user-list.js';
import { AdminTokenSource } from './token.js';

const API_PATH = 'api/admin/v1';

/** The session kinds and their collections in the admin API. */
const SESSION_COLLECTIONS = [
  ['compat', 'compat-sessions', 'compatibility session'],
  ['oauth2', 'oauth2-sessions', 'OAuth 2.0 session'],
  ['browser', 'user-sessions', 'browser session'],
] as const;

/**
 * The admin API root, ending in /api/admin/v1/: from `adminApiUrl` (a MAS base URL, or the admin API
 * URL itself), else from http.public_base, which already carries any listener prefix.
 */
export function adminApiBaseUrl(mas: ParsedMasConfig, adminApiUrl?: string): string {
  let given: URL;
  if (adminApiUrl !== undefined) {
    try {
      given = new URL(adminApiUrl);
    } catch {
      throw new UsageError(`--admin-api-url ${adminApiUrl} is not a URL.`, { hint: 'Give MAS\'s base URL, such as https://auth.example.com/, or the admin API URL ending in /api/admin/v1.' });
    }
    if (given.protocol !== 'https:' && given.protocol !== 'http:') throw new UsageError(`--admin-api-url ${adminApiUrl} is not an http(s) URL.`);
  } else if (mas.http.publicBase !== undefined) {
    given = new URL(mas.http.publicBase);
  } else {
    throw new MasToolError('MAS_TOOL_ADMIN_API_CONFIG', `The MAS config (${mas.files.join(', ')}) sets no http.public_base, so mas-tool does not know where the admin API is.`, {
      hint: 'Set http.public_base in the MAS config, or pass --admin-api-url https://auth.example.com/ (or use --via db).',
    });
  }
  given.search = '';
  given.hash = '';
  const path = given.pathname.replace(/\/+$/, '');
  given.pathname = path.endsWith(`/${API_PATH}`) ? `${path}/` : `${path}/${API_PATH}/`;
  return given.toString();
}

export interface ApiBackendOptions {
  mas: ParsedMasConfig;
  /** Belongs to the caller, which closes it. */
  http: HttpClient;
  adminApiUrl?: string;
  timeoutMs: number;
}

/** Opens the admin API backend: finds the admin client, and gets a first token (so that a wrong secret fails here). */
export async function openApiBackend(options: ApiBackendOptions): Promise<ManageBackend> {
  const { mas, http, timeoutMs } = options;
  const choice = chooseAdminClient(mas);
  const client = choice.client;
  if (client?.secret === undefined) {
    throw new MasToolError('MAS_TOOL_ADMIN_API_NO_CLIENT', `The MAS config has no client mas-tool can use for the admin API: ${choice.reason ?? 'none is configured'}.`, {
      hint: `Add one to the MAS config, restart MAS, and serve the adminapi resource (or use --via db):\n${ENABLE_ADMIN_CLIENT_YAML}\nSee ${ADMIN_API_DOCS}`,
    });
  }
  const baseUrl = adminApiBaseUrl(mas, options.adminApiUrl);
  const issuer = mas.http.issuer;
  if (issuer === undefined) {
    throw new MasToolError('MAS_TOOL_ADMIN_API_CONFIG', `The MAS config (${mas.files.join(', ')}) sets neither http.issuer nor http.public_base, so mas-tool cannot find the token endpoint.`, {
      hint: 'Set http.public_base (and http.issuer if it differs) in the MAS config.',
    });
  }
  // A client_secret_file is read without surrounding whitespace, as doctor does.
  const secret = readSecretSource(client.secret, 'trim');
  const tokens = new AdminTokenSource({ http, issuer, client, secret, timeoutMs, configFiles: mas.files });
  await tokens.get();
  return new ApiBackend(new AdminApiClient({ http, baseUrl, tokens, issuer, fromFlag: options.adminApiUrl !== undefined }), tokens);
}

class ApiBackend implements ManageBackend {
  readonly kind = 'api' as const;
  readonly #api: AdminApiClient;
  readonly #tokens: AdminTokenSource;
  /** Usernames seen, by id, so that messages can name users rather than quote ULIDs. */
  readonly #names = new Map<string, string>();

  constructor(api: AdminApiClient, tokens: AdminTokenSource) {
    this.#api = api;
    this.#tokens = tokens;
  }

  /** The API has no transactions: each request is its own. */
  async transaction<T>(work: () => Promise<T>): Promise<T> {
    return work();
  }

  // --- users -------------------------------------------------------------------------------------

  #user = (r: ApiResource): MasUser => {
    const user = toUser(r);
    this.#names.set(user.id, user.username);
    return user;
  };

  #label(userId: string): string {
    const name = this.#names.get(userId);
    return name === undefined ? `user ${userId}` : `user ${name}`;
  }

  async findUsers(refs: readonly UserRef[]): Promise<Map<string, MasUser>> {
    const byId = new Map<string, MasUser | undefined>();
    const byName = new Map<string, MasUser | undefined>();
    const out = new Map<string, MasUser>();
    for (const ref of refs) {
      let user: MasUser | undefined;
      if (ref.id !== undefined) {
        if (!byId.has(ref.id)) {
          // 400 is an id MAS cannot parse: then it can only be a username.
          byId.set(ref.id, await this.#api.one({ method: 'GET', path: ['users', ref.id], action: `looking up user ${ref.input}`, accept: [400, 404] }, this.#user));
        }
        user = byId.get(ref.id);
      }
      if (user === undefined && ref.username !== '') {
        // Keyed by the exact name: when two names differ only by case, the case asked for decides.
        if (!byName.has(ref.username)) byName.set(ref.username, await this.#userByName(ref));
        user = byName.get(ref.username);
      }
      if (user !== undefined) out.set(ref.input, user);
    }
    return out;
  }

  /** GET /users/by-username, which MAS answers case-insensitively (the exact name winning a tie). */
  async #userByName(ref: UserRef): Promise<MasUser | undefined> {
    const action = `looking up user ${ref.input}`;
    if (ref.username !== '.' && ref.username !== '..') {
      return this.#api.one({ method: 'GET', path: ['users', 'by-username', ref.username], action, accept: [404] }, this.#user);
    }
    // "." and ".." cannot be a path segment (URL parsers resolve them even percent-encoded): search.
    const candidates = await this.#api.list({ path: ['users'], query: [['filter[search]', ref.username]], action }, this.#user);
    const same = candidates.filter((u) => u.username.toLowerCase() === ref.username.toLowerCase());
    return same.length === 1 ? same[0] : same.find((u) => u.username === ref.username);
  }

  async similarUsernames(username: string, limit: number): Promise<string[]> {
    if (limit <= 0 || username === '') return [];
    const found = new Set<string>();
    for (const prefix of searchPrefixes(username.toLowerCase())) {
      // One page per prefix: a short prefix may match half the server, and the closest names share
      // a long prefix anyway.
      const names = await this.#api.list(
        { path: ['users'], query: [['filter[search]', prefix]], action: `searching for usernames like ${username}` },
        (r) => toUser(r).username,
        { maxPages: 1 },
      );
      for (const n of names) if (n !== username) found.add(n);
      if (found.size >= limit) break;
    }
    return rankBySimilarity(username, found, limit);
  }

  async listAdmins(): Promise<MasUser[]> {
    const admins = await this.#api.list({ path: ['users'], query: [['filter[admin]', 'true']], action: 'listing the admins' }, this.#user);
    return admins.sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
  }

  listUsers(filter: UserFilter, limit: number): Promise<UserPage> {
    return listing.listUsers(this.#api, filter, limit);
  }

  async createUsers(users: readonly NewUser[]): Promise<MasUser[]> {
    const created: MasUser[] = [];
    for (const u of users) {
      let user: MasUser | undefined;
      let step = `creating user ${u.username}`;
      try {
        user = await this.#api.one(
          {
            method: 'POST',
            path: ['users'],
            body: { username: u.username, skip_homeserver_check: u.skipHomeserverCheck, ...(u.displayName !== undefined ? { displayname: u.displayName } : {}) },
            action: step,
            hints: { 409: 'Choose another username: MAS has it already (in any letter case), or the homeserver reserves it (an application service namespace, say).' },
          },
          this.#user,
        );
        if (user === undefined) throw new Error('unreachable: POST /users accepts no error status');
        if (u.password !== undefined) {
          step = `setting the password of ${u.username}`;
          await this.#setPassword(user.id, u.password, u.ignorePasswordComplexity === true, step);
        }
        for (const email of u.emails) {
          step = `adding ${email} to ${u.username}`;
          await this.#addEmail(user.id, email, step);
        }
        for (const link of u.upstream) {
          step = `linking ${u.username} to subject ${link.subject} of provider ${link.providerId}`;
          await this.#addLink(user.id, link.providerId, link.subject, step);
        }
        if (u.admin) {
          step = `letting ${u.username} request admin`;
          await this.#setAdmin(user.id, true, step);
          user = { ...user, admin: true };
        }
        created.push(user);
      } catch (error) {
        if (user === undefined && created.length === 0) throw error;
        throw incompleteError(error, step, user, created, users.length);
      }
    }
    return created;
  }

  async #setAdmin(userId: string, admin: boolean, action: string): Promise<void> {
    await this.#api.request({ method: 'POST', path: ['users', userId, 'set-admin'], body: { admin }, action });
  }

  async setAdmin(userIds: readonly string[], admin: boolean): Promise<void> {
    for (const id of userIds) await this.#setAdmin(id, admin, `${admin ? 'letting' : 'no longer letting'} ${this.#label(id)} request admin`);
  }

  async lock(userIds: readonly string[]): Promise<void> {
    for (const id of userIds) await this.#api.request({ method: 'POST', path: ['users', id, 'lock'], action: `locking ${this.#label(id)}` });
  }

  async unlock(userIds: readonly string[]): Promise<void> {
    for (const id of userIds) await this.#api.request({ method: 'POST', path: ['users', id, 'unlock'], action: `unlocking ${this.#label(id)}` });
  }

  async deactivate(userIds: readonly string[], erase: boolean): Promise<void> {
    for (const id of userIds) {
      // The admin API erases unless told not to (skip_erase defaults to false): always say which.
      await this.#api.request({ method: 'POST', path: ['users', id, 'deactivate'], body: { skip_erase: !erase }, action: `deactivating ${this.#label(id)}` });
    }
  }

  async reactivate(userIds: readonly string[]): Promise<void> {
    for (const id of userIds) {
      await this.#api.request({
        method: 'POST',
        path: ['users', id, 'reactivate'],
        action: `reactivating ${this.#label(id)}`,
        since: '0.20',
        hints: { 500: 'MAS reactivates the account on the homeserver first: check that MAS reaches the homeserver (matrix.endpoint) and its logs.' },
      });
    }
  }

  async #setPassword(userId: string, password: Secret, skipCheck: boolean, action: string): Promise<void> {
    await this.#api.request({
      method: 'POST',
      path: ['users', userId, 'set-password'],
      // The password stays a Secret until the body is serialised.
      body: { password, skip_password_check: skipCheck },
      action,
      hints: {
        400: 'Choose a stronger password (passwords.minimum_complexity in the MAS config), or pass --ignore-complexity.',
        403: 'Password login is disabled in the config MAS runs with (passwords.enabled: false).',
      },
    });
  }

  async setPassword(userId: string, password: Secret, options: { version?: number; ignoreComplexity: boolean }): Promise<void> {
    await this.#setPassword(userId, password, options.ignoreComplexity, `setting the password of ${this.#label(userId)}`);
  }

  // --- emails ------------------------------------------------------------------------------------

  async findEmails(query: { userIds?: readonly string[]; emails?: readonly string[] }): Promise<MasEmail[]> {
    const found = new Map<string, MasEmail>();
    // A 404 is a user that does not exist (any more): it holds no address.
    for (const id of query.userIds ?? []) {
      const list = await this.#api.list({ path: ['user-emails'], query: [['filter[user]', id]], action: `listing the addresses of ${this.#label(id)}`, accept: [404] }, toEmail);
      for (const e of list) found.set(e.id, e);
    }
    // MAS compares filter[email] case-insensitively.
    for (const email of query.emails ?? []) {
      const list = await this.#api.list({ path: ['user-emails'], query: [['filter[email]', email]], action: `looking up the address ${email}` }, toEmail);
      for (const e of list) found.set(e.id, e);
    }
    return [...found.values()];
  }

  async #addEmail(userId: string, email: string, action: string): Promise<void> {
    await this.#api.request({
      method: 'POST',
      path: ['user-emails'],
      body: { user_id: userId, email },
      action,
      since: '0.15',
      hints: { 409: 'MAS allows an address on one user only: remove it from the user who has it first.' },
    });
  }

  async addEmails(items: ReadonlyArray<{ userId: string; email: string }>): Promise<void> {
    for (const { userId, email } of items) await this.#addEmail(userId, email, `adding ${email} to ${this.#label(userId)}`);
  }

  async removeEmails(emails: readonly MasEmail[]): Promise<void> {
    for (const e of emails) {
      await this.#api.request({ method: 'DELETE', path: ['user-emails', e.id], action: `removing ${e.email} from ${this.#label(e.userId)}`, since: '0.15' });
    }
  }

  // --- upstream links ----------------------------------------------------------------------------

  async listProviders(): Promise<MasUpstreamProvider[]> {
    return this.#api.list({ path: ['upstream-oauth-providers'], action: 'listing the upstream providers', since: '1.3' }, toProvider);
  }

  async findLinks(query: { pairs?: ReadonlyArray<{ providerId: string; subject: string }>; userIds?: readonly string[] }): Promise<MasUpstreamLink[]> {
    const found = new Map<string, MasUpstreamLink>();
    // A 404 is an unknown provider or user: nothing is linked to it.
    for (const { providerId, subject } of query.pairs ?? []) {
      const list = await this.#api.list(
        { path: ['upstream-oauth-links'], query: [['filter[provider]', providerId], ['filter[subject]', subject]], action: `looking up subject ${subject} of provider ${providerId}`, accept: [404] },
        toLink,
      );
      for (const l of list) found.set(l.id, l);
    }
    for (const id of query.userIds ?? []) {
      const list = await this.#api.list({ path: ['upstream-oauth-links'], query: [['filter[user]', id]], action: `listing the upstream links of ${this.#label(id)}`, accept: [404] }, toLink);
      for (const l of list) found.set(l.id, l);
    }
    return [...found.values()];
  }

  async #addLink(userId: string, providerId: string, subject: string, action: string): Promise<void> {
    // MAS attaches an existing link without a user (answering 200) instead of making a second one.
    await this.#api.request({
      method: 'POST',
      path: ['upstream-oauth-links'],
      body: { user_id: userId, provider_id: providerId, subject },
      action,
      since: '0.15',
      hints: { 409: 'That upstream account is linked to another user already: unlink it there first.' },
    });
  }

  async addLinks(items: ReadonlyArray<{ userId: string; providerId: string; subject: string; orphanLinkId?: string }>): Promise<void> {
    for (const { userId, providerId, subject } of items) {
      await this.#addLink(userId, providerId, subject, `linking ${this.#label(userId)} to subject ${subject} of provider ${providerId}`);
    }
  }

  async removeLinks(links: readonly MasUpstreamLink[]): Promise<void> {
    for (const l of links) {
      const owner = l.userId === null ? '' : ` from ${this.#label(l.userId)}`;
      await this.#api.request({ method: 'DELETE', path: ['upstream-oauth-links', l.id], action: `removing the link to subject ${l.subject}${owner}`, since: '0.15' });
    }
  }

  // --- sessions ----------------------------------------------------------------------------------

  async activeSessions(userId: string): Promise<ActiveSessions> {
    const out: ActiveSessions = { compat: [], oauth2: [], browser: [] };
    for (const [kind, collection, label] of SESSION_COLLECTIONS) {
      out[kind] = await this.#api.list(
        { path: [collection], query: [['filter[user]', userId], ['filter[status]', 'active']], action: `listing the active ${label}s of ${this.#label(userId)}`, accept: [404] },
        (r) => r.id,
      );
    }
    return out;
  }

  async finishSessions(userId: string, sessions: ActiveSessions): Promise<void> {
    for (const [kind, collection, label] of SESSION_COLLECTIONS) {
      for (const id of sessions[kind]) {
        const r = await this.#api.request({
          method: 'POST',
          path: [collection, id, 'finish'],
          action: `ending the ${label} ${id} of ${this.#label(userId)}`,
          since: '1.4',
          accept: [400],
        });
        // Finished by someone else since we listed it: what we wanted. Any other 400 is an error.
        if (r.status === 400 && !/already finished/i.test(r.titles ?? '')) {
          throw new AdminApiError('MAS_TOOL_ADMIN_API_BAD_REQUEST', `MAS refused ending the ${label} ${id} (400${r.titles !== undefined ? `: ${r.titles}` : ''}).`, {
            status: 400,
            ...(r.titles !== undefined ? { titles: r.titles } : {}),
          });
        }
      }
    }
  }

  userSessions(userId: string, options: { includeFinished: boolean }): Promise<MasSession[]> {
    return listing.userSessions(this.#api, { id: userId, label: this.#label(userId) }, options.includeFinished);
  }

  // --- registration tokens -------------------------------------------------------------------------

  listRegistrationTokens(): Promise<MasRegistrationToken[]> {
    return tokens.listTokens(this.#api);
  }

  findRegistrationToken(ref: { id?: string; token?: string }): Promise<MasRegistrationToken | undefined> {
    return tokens.findToken(this.#api, ref);
  }

  issueRegistrationToken(token: NewRegistrationToken): Promise<MasRegistrationToken> {
    return tokens.issueToken(this.#api, token);
  }

  setRegistrationTokenRevoked(id: string, revoked: boolean): Promise<MasRegistrationToken> {
    return tokens.setRevoked(this.#api, id, revoked);
  }

  /** Forgets the token; the HTTP client belongs to the caller, who closes it. */
  async close(): Promise<void> {
    this.#tokens.forget();
  }
}
