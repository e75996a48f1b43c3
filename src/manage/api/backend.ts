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
import * as emails from './emails.js';
import * as links from './links.js';
import { toUser, type ApiResource } from './resources.js';
import * as tokens from './registration-tokens.js';
import * as sessions from './sessions.js';
import { rankBySimilarity, searchPrefixes } from './similar.js';
import * as listing from './user-list.js';
import * as users from './users.js';
import { AdminTokenSource } from './token.js';

const API_PATH = 'api/admin/v1';

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

  #label = (userId: string): string => {
    const name = this.#names.get(userId);
    return name === undefined ? `user ${userId}` : `user ${name}`;
  };

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

  createUsers(list: readonly NewUser[]): Promise<MasUser[]> {
    return users.createUsers(this.#api, list, this.#user);
  }

  async setAdmin(userIds: readonly string[], admin: boolean): Promise<void> {
    for (const id of userIds) await users.setAdmin(this.#api, id, admin, `${admin ? 'letting' : 'no longer letting'} ${this.#label(id)} request admin`);
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

  async setPassword(userId: string, password: Secret, options: { version?: number; ignoreComplexity: boolean }): Promise<void> {
    await users.setPassword(this.#api, userId, password, options.ignoreComplexity, `setting the password of ${this.#label(userId)}`);
  }

  // --- emails ------------------------------------------------------------------------------------

  findEmails(query: { userIds?: readonly string[]; emails?: readonly string[] }): Promise<MasEmail[]> {
    return emails.findEmails(this.#api, query, this.#label);
  }

  async addEmails(items: ReadonlyArray<{ userId: string; email: string }>): Promise<void> {
    for (const { userId, email } of items) await emails.addEmail(this.#api, userId, email, `adding ${email} to ${this.#label(userId)}`);
  }

  removeEmails(list: readonly MasEmail[]): Promise<void> {
    return emails.removeEmails(this.#api, list, this.#label);
  }

  // --- upstream links ----------------------------------------------------------------------------

  listProviders(): Promise<MasUpstreamProvider[]> {
    return links.listProviders(this.#api);
  }

  findLinks(query: { pairs?: ReadonlyArray<{ providerId: string; subject: string }>; userIds?: readonly string[] }): Promise<MasUpstreamLink[]> {
    return links.findLinks(this.#api, query, this.#label);
  }

  async addLinks(items: ReadonlyArray<{ userId: string; providerId: string; subject: string; orphanLinkId?: string }>): Promise<void> {
    for (const { userId, providerId, subject } of items) {
      await links.addLink(this.#api, userId, providerId, subject, `linking ${this.#label(userId)} to subject ${subject} of provider ${providerId}`);
    }
  }

  removeLinks(list: readonly MasUpstreamLink[]): Promise<void> {
    return links.removeLinks(this.#api, list, this.#label);
  }

  // --- sessions ----------------------------------------------------------------------------------

  activeSessions(userId: string): Promise<ActiveSessions> {
    return sessions.activeSessions(this.#api, userId, this.#label);
  }

  finishSessions(userId: string, active: ActiveSessions): Promise<void> {
    return sessions.finishSessions(this.#api, userId, active, this.#label);
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
