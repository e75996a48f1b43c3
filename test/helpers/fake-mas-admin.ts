// A local MAS admin API for the tests of manage's admin API backend: the fake MAS of fake-mas.ts
// (discovery, a real client_credentials token endpoint, bearer tokens that expire) plus the users,
// user-emails, upstream-oauth-providers, upstream-oauth-links and session routes, answering as the
// OpenAPI document (/work/shared/reference/mas-admin-api.openapi.json) says: JSON:API-like resources,
// cursor pagination on the ULID ids, errors as {"errors":[{"title":...}]} with the documented status
// codes. State is in memory; tests seed it and read it back. The fake also records which jobs MAS
// would schedule (or which homeserver calls it would make at once), so a test can compare with the
// database backend, and it can play an old MAS (before 1.4: no per-item cursor, no `count`, no finish
// routes).
import type { ServerResponse } from 'node:http';
import { monotonicFactory, ulid as plainUlid } from 'ulid';
import { json, startFakeMas, type AdminRouteContext, type FakeMas, type FakeMasClient } from './fake-mas.js';
import { installRegistrationTokenRoutes, type FakeRegistrationToken } from './fake-mas-admin-tokens.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const USERNAME = /^(?!_)[a-z0-9=_\-./+]{1,255}$/;

export interface FakeUser {
  id: string;
  username: string;
  createdAt: string;
  lockedAt: string | null;
  deactivatedAt: string | null;
  admin: boolean;
  legacyGuest: boolean;
  displayName?: string;
  /** Every password set, newest last (as plain text: this is a test fake). */
  passwords: string[];
}

export interface FakeEmail {
  id: string;
  userId: string;
  email: string;
  createdAt: string;
}

export interface FakeProvider {
  id: string;
  issuer: string | null;
  humanName: string | null;
  brandName: string | null;
  createdAt: string;
  disabledAt: string | null;
}

export interface FakeLink {
  id: string;
  providerId: string;
  subject: string;
  userId: string | null;
  humanAccountName: string | null;
  createdAt: string;
}

export type SessionKind = 'compat' | 'oauth2' | 'user';

export interface FakeSession {
  id: string;
  kind: SessionKind;
  userId: string;
  createdAt: string;
  finishedAt: string | null;
  deviceId: string | null;
}

/** What MAS would do on the homeserver: a queued job, or a call made during the request. */
export interface FakeJob {
  name: 'provision-user' | 'sync-devices' | 'deactivate-user' | 'reactivate-user';
  userId: string;
  /** true when MAS calls the homeserver during the request instead of queueing a job. */
  synchronous?: boolean;
  payload?: Record<string, unknown>;
}

export interface FakeMasAdminSettings {
  /** MAS before 1.4: no per-item `meta.page.cursor`, `count` ignored, no /finish routes. */
  old: boolean;
  /** passwords.enabled: false: set-password answers 403. */
  passwordAuthDisabled: boolean;
  /** Localparts the homeserver says are taken (409 "Username is reserved by the homeserver"). */
  reserved: Set<string>;
  /** Passwords MAS finds too weak unless skip_password_check. */
  weakPasswords: Set<string>;
  /** The page size without page[first] / page[last]. */
  defaultPageSize: number;
  /** A cap on page[first] / page[last] (MAS documents none): makes a client follow links.next. */
  maxPageSize?: number;
}

export interface FakeMasAdmin extends FakeMas {
  settings: FakeMasAdminSettings;
  users: Map<string, FakeUser>;
  emails: Map<string, FakeEmail>;
  providers: Map<string, FakeProvider>;
  links: Map<string, FakeLink>;
  sessions: Map<string, FakeSession>;
  registrationTokens: Map<string, FakeRegistrationToken>;
  jobs: FakeJob[];
  /** The admin client the fake was started with (a client_secret_basic one unless told otherwise). */
  client: FakeMasClient;
  addUser(username: string, attrs?: Partial<Omit<FakeUser, 'id' | 'username'>>): FakeUser;
  addEmail(userId: string, email: string): FakeEmail;
  addProvider(attrs?: Partial<Omit<FakeProvider, 'id'>>): FakeProvider;
  addLink(providerId: string, subject: string, userId: string | null, humanAccountName?: string): FakeLink;
  addSession(kind: SessionKind, userId: string, finished?: boolean): FakeSession;
  addRegistrationToken(token: string, attrs?: Partial<Omit<FakeRegistrationToken, 'id' | 'token'>>): FakeRegistrationToken;
  userByName(username: string): FakeUser | undefined;
  /** The admin API requests (not discovery or token), as "METHOD /path". */
  apiCalls(): string[];
  /** How many token requests reached the token endpoint. */
  tokenRequests(): number;
}

export interface FakeMasAdminOptions {
  serverName?: string;
  client?: FakeMasClient;
  /** Whether the client is in policy.data.admin_clients (default true). */
  allowed?: boolean;
  prefix?: string;
}

const now = (): string => new Date().toISOString();

const userAttrs = (u: FakeUser) => ({
  username: u.username,
  created_at: u.createdAt,
  locked_at: u.lockedAt,
  deactivated_at: u.deactivatedAt,
  admin: u.admin,
  legacy_guest: u.legacyGuest,
});
const emailAttrs = (e: FakeEmail) => ({ created_at: e.createdAt, user_id: e.userId, email: e.email });
const providerAttrs = (p: FakeProvider) => ({
  issuer: p.issuer,
  human_name: p.humanName,
  brand_name: p.brandName,
  created_at: p.createdAt,
  disabled_at: p.disabledAt,
  registration_token_required: false,
});
const linkAttrs = (l: FakeLink) => ({
  created_at: l.createdAt,
  provider_id: l.providerId,
  subject: l.subject,
  user_id: l.userId,
  human_account_name: l.humanAccountName,
});
function sessionAttrs(s: FakeSession): Record<string, unknown> {
  const common = { created_at: s.createdAt, finished_at: s.finishedAt, user_id: s.userId, user_agent: 'Mozilla/5.0', last_active_at: s.createdAt, last_active_ip: '127.0.0.1' };
  if (s.kind === 'compat') return { ...common, device_id: s.deviceId, user_session_id: null, redirect_uri: null, human_name: null };
  if (s.kind === 'oauth2') return { ...common, user_session_id: null, client_id: '01FAKEC11ENT0000000000000C', scope: `urn:matrix:client:api:* urn:matrix:client:device:${s.deviceId ?? 'X'}`, human_name: null };
  return common;
}

const SESSION_TYPE: Record<SessionKind, { type: string; collection: string; label: string }> = {
  compat: { type: 'compat-session', collection: 'compat-sessions', label: 'Compatibility session' },
  oauth2: { type: 'oauth2-session', collection: 'oauth2-sessions', label: 'OAuth 2.0 session' },
  user: { type: 'user-session', collection: 'user-sessions', label: 'User session' },
};

interface Resource {
  id: string;
}

function resource(type: string, collection: string, id: string, attributes: unknown) {
  return { type, id, attributes, links: { self: `/api/admin/v1/${collection}/${id}` } };
}

class BadRequest extends Error {
  constructor(
    readonly status: number,
    readonly titles: string[],
  ) {
    super(titles.join(': '));
  }
}

function parseBool(query: URLSearchParams, key: string): boolean | undefined {
  const v = query.get(key);
  if (v === null) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new BadRequest(400, [`Invalid filter parameters`, `${key}: provided string was not \`true\` or \`false\``]);
}

function parseUlid(query: URLSearchParams, key: string): string | undefined {
  const v = query.get(key);
  if (v === null) return undefined;
  if (!ULID.test(v)) throw new BadRequest(400, ['Invalid filter parameters', `${key}: invalid ULID`]);
  return v;
}

function parseBody(body: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  try {
    const v = JSON.parse(body) as unknown;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // below
  }
  throw new BadRequest(400, ['Invalid request body']);
}

export async function startFakeMasAdmin(options: FakeMasAdminOptions = {}): Promise<FakeMasAdmin> {
  const newId = monotonicFactory();
  const client: FakeMasClient = options.client ?? { clientId: plainUlid(), secret: `fake-admin-client-secret-${plainUlid()}`, authMethod: 'client_secret_basic' };
  const settings: FakeMasAdminSettings = { old: false, passwordAuthDisabled: false, reserved: new Set(), weakPasswords: new Set(), defaultPageSize: 10 };
  const users = new Map<string, FakeUser>();
  const emails = new Map<string, FakeEmail>();
  const providers = new Map<string, FakeProvider>();
  const links = new Map<string, FakeLink>();
  const sessions = new Map<string, FakeSession>();
  const registrationTokens = new Map<string, FakeRegistrationToken>();
  const jobs: FakeJob[] = [];

  const userNotFound = (id: string) => new BadRequest(404, [`User ID ${id} not found`]);
  const needUser = (id: string): FakeUser => {
    const u = users.get(id);
    if (u === undefined) throw userNotFound(id);
    return u;
  };

  /** A page of `items` (sorted by id) as MAS paginates: page[first]/page[after] forward, page[last]/page[before] backward. */
  function paginate<T extends Resource>(ctx: AdminRouteContext, collection: string, items: T[], toResource: (item: T) => ReturnType<typeof resource>): void {
    const q = ctx.query;
    const first = q.get('page[first]');
    const last = q.get('page[last]');
    if (first !== null && last !== null) throw new BadRequest(400, ['Invalid pagination parameters', 'Cannot specify both `page[first]` and `page[last]`']);
    const size = (v: string | null, key: string): number | undefined => {
      if (v === null) return undefined;
      if (!/^[1-9]\d*$/.test(v)) throw new BadRequest(400, ['Invalid pagination parameters', `${key}: expected a positive integer`]);
      return Number(v);
    };
    const firstN = size(first, 'page[first]');
    const lastN = size(last, 'page[last]');
    const after = q.get('page[after]');
    const before = q.get('page[before]');
    for (const [k, v] of [['page[after]', after], ['page[before]', before]] as const) {
      if (v !== null && !ULID.test(v)) throw new BadRequest(400, ['Invalid pagination parameters', `${k}: invalid ULID`]);
    }
    const sorted = [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const window = sorted.filter((i) => (after === null || i.id > after) && (before === null || i.id < before));
    const n = Math.min(lastN ?? firstN ?? settings.defaultPageSize, settings.maxPageSize ?? Number.POSITIVE_INFINITY);
    const page = lastN !== undefined ? window.slice(Math.max(0, window.length - n)) : window.slice(0, n);
    const pageFirst = page[0];
    const pageLast = page[page.length - 1];
    const hasNext = pageLast !== undefined && window.some((i) => i.id > pageLast.id);
    const hasPrev = pageFirst !== undefined && window.some((i) => i.id < pageFirst.id);

    // Links keep the filters and replace the pagination parameters, as MAS builds them.
    const filters = [...q.entries()].filter(([k]) => k.startsWith('filter['));
    const link = (extra: Array<[string, string]>): string => {
      const parts = [...filters, ...extra].map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
      return `/api/admin/v1/${collection}?${parts.join('&')}`;
    };
    const links: Record<string, string> = {
      self: ctx.self,
      first: link([['page[first]', String(n)]]),
      last: link([['page[last]', String(n)]]),
    };
    if (hasNext && pageLast !== undefined) links.next = link([['page[after]', pageLast.id], ['page[first]', String(n)]]);
    if (hasPrev && pageFirst !== undefined) links.prev = link([['page[before]', pageFirst.id], ['page[last]', String(n)]]);

    const count = settings.old ? 'true' : (q.get('count') ?? 'true');
    if (!['true', 'false', 'only'].includes(count)) throw new BadRequest(400, ['Invalid pagination parameters', 'count: expected true, false or only']);
    const out: Record<string, unknown> = {};
    if (count !== 'false') out.meta = { count: items.length };
    if (count !== 'only') {
      out.data = page.map((item) => {
        const r = toResource(item);
        return settings.old ? r : { ...r, meta: { page: { cursor: item.id } } };
      });
    }
    out.links = links;
    json(ctx.res, 200, out);
  }

  const single = (res: ServerResponse, status: number, r: ReturnType<typeof resource>, self: string): void =>
    json(res, status, { data: r, links: { self } });

  const userResource = (u: FakeUser) => resource('user', 'users', u.id, userAttrs(u));
  const emailResource = (e: FakeEmail) => resource('user-email', 'user-emails', e.id, emailAttrs(e));
  const providerResource = (p: FakeProvider) => resource('upstream-oauth-provider', 'upstream-oauth-providers', p.id, providerAttrs(p));
  const linkResource = (l: FakeLink) => resource('upstream-oauth-link', 'upstream-oauth-links', l.id, linkAttrs(l));
  const sessionResource = (s: FakeSession) => resource(SESSION_TYPE[s.kind].type, SESSION_TYPE[s.kind].collection, s.id, sessionAttrs(s));

  type Handler = (ctx: AdminRouteContext, params: string[]) => void;
  const routes: Array<{ method: string; pattern: string[]; handler: Handler; since14?: boolean }> = [];
  const route = (method: string, path: string, handler: Handler, opts: { since14?: boolean } = {}) =>
    routes.push({ method, pattern: path.split('/').filter((s) => s !== ''), handler, ...opts });

  // --- users ---------------------------------------------------------------------------------------
  route('GET', 'users', (ctx) => {
    const admin = parseBool(ctx.query, 'filter[admin]');
    const guest = parseBool(ctx.query, 'filter[legacy-guest]');
    const search = ctx.query.get('filter[search]');
    const status = ctx.query.get('filter[status]');
    if (status !== null && !['active', 'locked', 'deactivated'].includes(status)) throw new BadRequest(400, ['Invalid filter parameters', `unknown status ${status}`]);
    const items = [...users.values()].filter(
      (u) =>
        (admin === undefined || u.admin === admin) &&
        (guest === undefined || u.legacyGuest === guest) &&
        (search === null || u.username.toLowerCase().includes(search.toLowerCase())) &&
        (status === null ||
          (status === 'active' && u.lockedAt === null && u.deactivatedAt === null) ||
          (status === 'locked' && u.lockedAt !== null) ||
          (status === 'deactivated' && u.deactivatedAt !== null)),
    );
    paginate(ctx, 'users', items, userResource);
  });
  route('POST', 'users', (ctx) => {
    const body = parseBody(ctx.body);
    const username = body.username;
    if (typeof username !== 'string') throw new BadRequest(400, ['Invalid request body', 'missing field `username`']);
    // The order MAS checks in: taken (case-insensitively), then valid, then the homeserver.
    if ([...users.values()].some((u) => u.username.toLowerCase() === username.toLowerCase())) throw new BadRequest(409, ['User already exists']);
    if (!USERNAME.test(username)) throw new BadRequest(400, ['Username is not valid']);
    if (body.skip_homeserver_check !== true && settings.reserved.has(username)) throw new BadRequest(409, ['Username is reserved by the homeserver']);
    const user = api.addUser(username, typeof body.displayname === 'string' ? { displayName: body.displayname } : {});
    // MAS provisions the new user on the homeserver during the request, not through a job.
    jobs.push({ name: 'provision-user', userId: user.id, synchronous: true, payload: { set_display_name: user.displayName ?? null } });
    single(ctx.res, 201, userResource(user), `/api/admin/v1/users/${user.id}`);
  });
  route('GET', 'users/by-username/:username', (ctx, [username]) => {
    const name = username ?? '';
    // Case-insensitive, and when several names differ only by case, the exact one or none.
    const matches = [...users.values()].filter((u) => u.username.toLowerCase() === name.toLowerCase());
    const user = matches.length === 1 ? matches[0] : matches.find((u) => u.username === name);
    if (user === undefined) throw new BadRequest(404, [`User with username "${name}" not found`]);
    single(ctx.res, 200, userResource(user), `/api/admin/v1/users/by-username/${encodeURIComponent(name)}`);
  });
  route('GET', 'users/:id', (ctx, [id]) => single(ctx.res, 200, userResource(needUser(id ?? '')), ctx.self));
  route('POST', 'users/:id/set-password', (ctx, [id]) => {
    const user = needUser(id ?? '');
    if (settings.passwordAuthDisabled) throw new BadRequest(403, ['Password auth is disabled']);
    const body = parseBody(ctx.body);
    if (typeof body.password !== 'string') throw new BadRequest(400, ['Invalid request body', 'missing field `password`']);
    if (body.skip_password_check !== true && settings.weakPasswords.has(body.password)) throw new BadRequest(400, ['Password is too weak']);
    user.passwords.push(body.password);
    ctx.res.writeHead(204);
    ctx.res.end();
  });
  route('POST', 'users/:id/set-admin', (ctx, [id]) => {
    const user = needUser(id ?? '');
    const body = parseBody(ctx.body);
    if (typeof body.admin !== 'boolean') throw new BadRequest(400, ['Invalid request body', 'missing field `admin`']);
    user.admin = body.admin;
    single(ctx.res, 200, userResource(user), ctx.self);
  });
  route('POST', 'users/:id/lock', (ctx, [id]) => {
    const user = needUser(id ?? '');
    user.lockedAt ??= now();
    jobs.push({ name: 'provision-user', userId: user.id });
    single(ctx.res, 200, userResource(user), ctx.self);
  });
  route('POST', 'users/:id/unlock', (ctx, [id]) => {
    const user = needUser(id ?? '');
    user.lockedAt = null;
    jobs.push({ name: 'provision-user', userId: user.id });
    single(ctx.res, 200, userResource(user), ctx.self);
  });
  route('POST', 'users/:id/deactivate', (ctx, [id]) => {
    const user = needUser(id ?? '');
    const body = parseBody(ctx.body);
    user.deactivatedAt ??= now();
    // skip_erase defaults to false: the admin API erases unless told not to.
    jobs.push({ name: 'deactivate-user', userId: user.id, payload: { hs_erase: body.skip_erase !== true } });
    single(ctx.res, 200, userResource(user), ctx.self);
  });
  route('POST', 'users/:id/reactivate', (ctx, [id]) => {
    const user = needUser(id ?? '');
    // Reactivated on the homeserver during the request, then deactivated_at is cleared.
    jobs.push({ name: 'reactivate-user', userId: user.id, synchronous: true });
    user.deactivatedAt = null;
    single(ctx.res, 200, userResource(user), ctx.self);
  });

  // --- user emails ---------------------------------------------------------------------------------
  route('GET', 'user-emails', (ctx) => {
    const user = parseUlid(ctx.query, 'filter[user]');
    if (user !== undefined) needUser(user);
    const email = ctx.query.get('filter[email]');
    const items = [...emails.values()].filter((e) => (user === undefined || e.userId === user) && (email === null || e.email.toLowerCase() === email.toLowerCase()));
    paginate(ctx, 'user-emails', items, emailResource);
  });
  route('POST', 'user-emails', (ctx) => {
    const body = parseBody(ctx.body);
    const userId = body.user_id;
    const email = body.email;
    if (typeof userId !== 'string' || typeof email !== 'string') throw new BadRequest(400, ['Invalid request body']);
    needUser(userId);
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new BadRequest(400, [`Email "${email}" is not valid`, 'Missing domain or user']);
    if ([...emails.values()].some((e) => e.email.toLowerCase() === email.toLowerCase())) throw new BadRequest(409, [`User email "${email}" already in use`]);
    const added = api.addEmail(userId, email);
    jobs.push({ name: 'provision-user', userId });
    single(ctx.res, 201, emailResource(added), `/api/admin/v1/user-emails/${added.id}`);
  });
  const needEmail = (id: string): FakeEmail => {
    const e = emails.get(id);
    if (e === undefined) throw new BadRequest(404, [`User email ID ${id} not found`]);
    return e;
  };
  route('GET', 'user-emails/:id', (ctx, [id]) => single(ctx.res, 200, emailResource(needEmail(id ?? '')), ctx.self));
  route('DELETE', 'user-emails/:id', (ctx, [id]) => {
    const e = needEmail(id ?? '');
    emails.delete(e.id);
    jobs.push({ name: 'provision-user', userId: e.userId });
    ctx.res.writeHead(204);
    ctx.res.end();
  });

  // --- upstream providers and links ----------------------------------------------------------------
  route('GET', 'upstream-oauth-providers', (ctx) => {
    const enabled = parseBool(ctx.query, 'filter[enabled]');
    paginate(ctx, 'upstream-oauth-providers', [...providers.values()].filter((p) => enabled === undefined || (p.disabledAt === null) === enabled), providerResource);
  });
  route('GET', 'upstream-oauth-providers/:id', (ctx, [id]) => {
    const p = providers.get(id ?? '');
    if (p === undefined) throw new BadRequest(404, [`Upstream OAuth 2.0 Provider ID ${id ?? ''} not found`]);
    single(ctx.res, 200, providerResource(p), ctx.self);
  }, { since14: true });
  route('GET', 'upstream-oauth-links', (ctx) => {
    const user = parseUlid(ctx.query, 'filter[user]');
    if (user !== undefined) needUser(user);
    const provider = parseUlid(ctx.query, 'filter[provider]');
    if (provider !== undefined && !providers.has(provider)) throw new BadRequest(404, [`Upstream OAuth 2.0 Provider ID ${provider} not found`]);
    const subject = ctx.query.get('filter[subject]');
    const items = [...links.values()].filter((l) => (user === undefined || l.userId === user) && (provider === undefined || l.providerId === provider) && (subject === null || l.subject === subject));
    paginate(ctx, 'upstream-oauth-links', items, linkResource);
  });
  route('POST', 'upstream-oauth-links', (ctx) => {
    const body = parseBody(ctx.body);
    const { user_id: userId, provider_id: providerId, subject } = body;
    if (typeof userId !== 'string' || typeof providerId !== 'string' || typeof subject !== 'string') throw new BadRequest(400, ['Invalid request body']);
    needUser(userId);
    if (!providers.has(providerId)) throw new BadRequest(404, [`Upstream OAuth 2.0 Provider ID ${providerId} not found`]);
    const existing = [...links.values()].find((l) => l.providerId === providerId && l.subject === subject);
    if (existing !== undefined && existing.userId !== null) {
      throw new BadRequest(409, [`Upstream Oauth 2.0 Provider ID ${providerId} with subject ${subject} is already linked to a user`]);
    }
    if (existing !== undefined) {
      // An orphan link (from a login that never finished registering) is attached, not duplicated.
      existing.userId = userId;
      return single(ctx.res, 200, linkResource(existing), `/api/admin/v1/upstream-oauth-links/${existing.id}`);
    }
    const created = api.addLink(providerId, subject, userId, typeof body.human_account_name === 'string' ? body.human_account_name : undefined);
    single(ctx.res, 201, linkResource(created), `/api/admin/v1/upstream-oauth-links/${created.id}`);
  });
  const needLink = (id: string): FakeLink => {
    const l = links.get(id);
    if (l === undefined) throw new BadRequest(404, [`Upstream OAuth 2.0 Link ID ${id} not found`]);
    return l;
  };
  route('GET', 'upstream-oauth-links/:id', (ctx, [id]) => single(ctx.res, 200, linkResource(needLink(id ?? '')), ctx.self));
  route('DELETE', 'upstream-oauth-links/:id', (ctx, [id]) => {
    links.delete(needLink(id ?? '').id);
    ctx.res.writeHead(204);
    ctx.res.end();
  });

  // --- sessions ------------------------------------------------------------------------------------
  for (const kind of ['compat', 'oauth2', 'user'] as const) {
    const { collection, label } = SESSION_TYPE[kind];
    route('GET', collection, (ctx) => {
      const user = parseUlid(ctx.query, 'filter[user]');
      if (user !== undefined) needUser(user);
      const status = ctx.query.get('filter[status]');
      if (status !== null && status !== 'active' && status !== 'finished') throw new BadRequest(400, ['Invalid filter parameters', `unknown status ${status}`]);
      const items = [...sessions.values()].filter(
        (s) => s.kind === kind && (user === undefined || s.userId === user) && (status === null || (status === 'active') === (s.finishedAt === null)),
      );
      paginate(ctx, collection, items, sessionResource);
    });
    const needSession = (id: string): FakeSession => {
      const s = sessions.get(id);
      if (s === undefined || s.kind !== kind) throw new BadRequest(404, [`${label} with ID ${id} not found`]);
      return s;
    };
    route('GET', `${collection}/:id`, (ctx, [id]) => single(ctx.res, 200, sessionResource(needSession(id ?? '')), ctx.self));
    route(
      'POST',
      `${collection}/:id/finish`,
      (ctx, [id]) => {
        const s = needSession(id ?? '');
        if (s.finishedAt !== null) throw new BadRequest(400, [`${label} with ID ${s.id} is already finished`]);
        s.finishedAt = now();
        // Browser sessions carry no devices; the others make MAS sync the user's devices.
        if (kind !== 'user') jobs.push({ name: 'sync-devices', userId: s.userId });
        single(ctx.res, 200, sessionResource(s), ctx.self);
      },
      { since14: true },
    );
  }

  installRegistrationTokenRoutes(
    { route, paginate, single, resource, fail: (status, titles) => new BadRequest(status, titles), parseBool, parseBody, newId, now },
    registrationTokens,
  );

  const adminRoutes = (method: string, path: string): ((ctx: AdminRouteContext) => void) | undefined => {
    const raw = path.split('/').filter((s) => s !== '');
    let segments: string[];
    try {
      segments = raw.map((s) => decodeURIComponent(s));
    } catch {
      return undefined;
    }
    for (const r of routes) {
      if (r.method !== method || r.pattern.length !== segments.length) continue;
      if (r.since14 === true && settings.old) continue;
      const params: string[] = [];
      const matches = r.pattern.every((p, i) => {
        const s = segments[i] ?? '';
        if (p.startsWith(':')) {
          params.push(s);
          return true;
        }
        return p === s;
      });
      if (!matches) continue;
      return (ctx) => {
        try {
          // Every {id} in a path is a ULID; MAS rejects anything else before looking.
          r.pattern.forEach((p, i) => {
            if (p === ':id' && !ULID.test(segments[i] ?? '')) throw new BadRequest(400, ['Invalid ULID in path']);
          });
          r.handler(ctx, params);
        } catch (error) {
          if (!(error instanceof BadRequest)) throw error;
          json(ctx.res, error.status, { errors: error.titles.map((title) => ({ title })) });
        }
      };
    }
    return undefined;
  };

  const fake = await startFakeMas({
    serverName: options.serverName ?? 'example.com',
    clients: [client],
    adminClients: options.allowed === false ? [] : [client.clientId],
    adminRoutes,
    ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
  });

  const api = {
    settings,
    users,
    emails,
    providers,
    links,
    sessions,
    registrationTokens,
    jobs,
    client,
    addUser(username: string, attrs: Partial<Omit<FakeUser, 'id' | 'username'>> = {}): FakeUser {
      const user: FakeUser = { id: newId(), username, createdAt: now(), lockedAt: null, deactivatedAt: null, admin: false, legacyGuest: false, passwords: [], ...attrs };
      users.set(user.id, user);
      return user;
    },
    addEmail(userId: string, email: string): FakeEmail {
      const e: FakeEmail = { id: newId(), userId, email, createdAt: now() };
      emails.set(e.id, e);
      return e;
    },
    addProvider(attrs: Partial<Omit<FakeProvider, 'id'>> = {}): FakeProvider {
      const p: FakeProvider = { id: newId(), issuer: 'https://idp.example.com/', humanName: null, brandName: null, createdAt: now(), disabledAt: null, ...attrs };
      providers.set(p.id, p);
      return p;
    },
    addLink(providerId: string, subject: string, userId: string | null, humanAccountName?: string): FakeLink {
      const l: FakeLink = { id: newId(), providerId, subject, userId, humanAccountName: humanAccountName ?? null, createdAt: now() };
      links.set(l.id, l);
      return l;
    },
    addSession(kind: SessionKind, userId: string, finished = false): FakeSession {
      const id = newId();
      const s: FakeSession = { id, kind, userId, createdAt: now(), finishedAt: finished ? now() : null, deviceId: kind === 'user' ? null : `DEV${id.slice(-7)}` };
      sessions.set(s.id, s);
      return s;
    },
    addRegistrationToken(token: string, attrs: Partial<Omit<FakeRegistrationToken, 'id' | 'token'>> = {}): FakeRegistrationToken {
      const t: FakeRegistrationToken = { id: newId(), token, usageLimit: null, timesUsed: 0, createdAt: now(), lastUsedAt: null, expiresAt: null, revokedAt: null, ...attrs };
      registrationTokens.set(t.id, t);
      return t;
    },
    userByName(username: string): FakeUser | undefined {
      return [...users.values()].find((u) => u.username === username);
    },
    apiCalls(): string[] {
      return fake.requests.filter((r) => r.path.includes('/api/admin/v1/')).map((r) => `${r.method} ${r.path.slice(r.path.indexOf('/api/admin/v1/') + '/api/admin/v1'.length)}`);
    },
    tokenRequests(): number {
      return fake.requests.filter((r) => r.path.endsWith('/oauth2/token')).length;
    },
  };
  return Object.assign(fake, api);
}
