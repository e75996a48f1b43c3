// The /user-registration-tokens routes of the fake MAS admin API, as the OpenAPI document describes
// them: list with the used/revoked/expired/valid filters, create (a random 12-character token when
// none is given, unlimited uses when usage_limit is omitted, 409 on a duplicate), get, update,
// revoke (400 when already revoked) and unrevoke (400 when not revoked).
import { randomInt } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { AdminRouteContext } from './fake-mas.js';

export interface FakeRegistrationToken {
  id: string;
  token: string;
  usageLimit: number | null;
  timesUsed: number;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

type Resource = { type: string; id: string; attributes: unknown; links: { self: string } };

export interface TokenRouteKit {
  route(method: string, path: string, handler: (ctx: AdminRouteContext, params: string[]) => void): void;
  paginate<T extends { id: string }>(ctx: AdminRouteContext, collection: string, items: T[], toResource: (item: T) => Resource): void;
  single(res: ServerResponse, status: number, r: Resource, self: string): void;
  resource(type: string, collection: string, id: string, attributes: unknown): Resource;
  fail(status: number, titles: string[]): Error;
  parseBool(query: URLSearchParams, key: string): boolean | undefined;
  parseBody(body: string): Record<string, unknown>;
  newId(): string;
  now(): string;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function valid(t: FakeRegistrationToken, at = Date.now()): boolean {
  return t.revokedAt === null && (t.expiresAt === null || Date.parse(t.expiresAt) > at) && (t.usageLimit === null || t.timesUsed < t.usageLimit);
}

export function installRegistrationTokenRoutes(kit: TokenRouteKit, tokens: Map<string, FakeRegistrationToken>): void {
  const COLLECTION = 'user-registration-tokens';
  const toResource = (t: FakeRegistrationToken) =>
    kit.resource('user-registration_token', COLLECTION, t.id, {
      token: t.token,
      valid: valid(t),
      usage_limit: t.usageLimit,
      times_used: t.timesUsed,
      created_at: t.createdAt,
      last_used_at: t.lastUsedAt,
      expires_at: t.expiresAt,
      revoked_at: t.revokedAt,
    });
  const need = (id: string): FakeRegistrationToken => {
    const t = tokens.get(id);
    if (t === undefined) throw kit.fail(404, [`Registration token with ID ${id} not found`]);
    return t;
  };
  const limitOf = (v: unknown): number | null => {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 4_294_967_295) throw kit.fail(400, ['Invalid request body', 'usage_limit: invalid value']);
    return v;
  };
  const dateOf = (v: unknown): string | null => {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) throw kit.fail(400, ['Invalid request body', 'expires_at: invalid date-time']);
    return new Date(v).toISOString();
  };

  kit.route('GET', COLLECTION, (ctx) => {
    const used = kit.parseBool(ctx.query, 'filter[used]');
    const revoked = kit.parseBool(ctx.query, 'filter[revoked]');
    const expired = kit.parseBool(ctx.query, 'filter[expired]');
    const isValid = kit.parseBool(ctx.query, 'filter[valid]');
    const now = Date.now();
    const items = [...tokens.values()].filter(
      (t) =>
        (used === undefined || t.timesUsed > 0 === used) &&
        (revoked === undefined || (t.revokedAt !== null) === revoked) &&
        (expired === undefined || (t.expiresAt !== null && Date.parse(t.expiresAt) <= now) === expired) &&
        (isValid === undefined || valid(t, now) === isValid),
    );
    kit.paginate(ctx, COLLECTION, items, toResource);
  });
  kit.route('POST', COLLECTION, (ctx) => {
    const body = kit.parseBody(ctx.body);
    if (body.token !== undefined && body.token !== null && typeof body.token !== 'string') throw kit.fail(400, ['Invalid request body', 'token: invalid type']);
    let text = typeof body.token === 'string' ? body.token : '';
    if (text === '') for (let i = 0; i < 12; i++) text += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
    if ([...tokens.values()].some((t) => t.token === text)) throw kit.fail(409, [`A registration token with token ${text} already exists`]);
    const t: FakeRegistrationToken = { id: kit.newId(), token: text, usageLimit: limitOf(body.usage_limit), timesUsed: 0, createdAt: kit.now(), lastUsedAt: null, expiresAt: dateOf(body.expires_at), revokedAt: null };
    tokens.set(t.id, t);
    kit.single(ctx.res, 201, toResource(t), `/api/admin/v1/${COLLECTION}/${t.id}`);
  });
  kit.route('GET', `${COLLECTION}/:id`, (ctx, [id]) => kit.single(ctx.res, 200, toResource(need(id ?? '')), ctx.self));
  kit.route('PUT', `${COLLECTION}/:id`, (ctx, [id]) => {
    const t = need(id ?? '');
    const body = kit.parseBody(ctx.body);
    // Absent: unchanged; null: removed.
    if ('usage_limit' in body) t.usageLimit = limitOf(body.usage_limit);
    if ('expires_at' in body) t.expiresAt = dateOf(body.expires_at);
    kit.single(ctx.res, 200, toResource(t), ctx.self);
  });
  kit.route('POST', `${COLLECTION}/:id/revoke`, (ctx, [id]) => {
    const t = need(id ?? '');
    if (t.revokedAt !== null) throw kit.fail(400, [`Registration token with ID ${t.id} is already revoked`]);
    t.revokedAt = kit.now();
    kit.single(ctx.res, 200, toResource(t), ctx.self);
  });
  kit.route('POST', `${COLLECTION}/:id/unrevoke`, (ctx, [id]) => {
    const t = need(id ?? '');
    if (t.revokedAt === null) throw kit.fail(400, [`Registration token with ID ${t.id} is not revoked`]);
    t.revokedAt = null;
    kit.single(ctx.res, 200, toResource(t), ctx.self);
  });
}
