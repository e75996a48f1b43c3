// The admin API's JSON:API-like documents, read into the data of src/manage/model.ts. A single
// resource is {"data": {"type", "id", "attributes", "links"}}; a page is {"data": [...], "links":
// {"next"?}, "meta"?}, each item with "meta": {"page": {"cursor"}} since MAS 1.4. Anything of another
// shape is a ResponseShapeError, which the client turns into an error naming the request.
import { Secret } from '../../secret.js';
import { deviceOfScope, SYNAPSE_ADMIN_SCOPE } from '../scopes.js';
import type { MasEmail, MasRegistrationToken, MasSession, MasUpstreamLink, MasUpstreamProvider, MasUser, SessionKind } from '../model.js';

export class ResponseShapeError extends Error {}

export interface ApiResource {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  /** The item's pagination cursor (MAS 1.4 and later). */
  cursor?: string;
}

export interface ApiPage {
  data: ApiResource[];
  /** links.next: present when there is a page after this one. */
  next?: string;
  /** meta.count: how many items match in all (absent with count=false). */
  count?: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function resource(v: unknown): ApiResource {
  if (!isObject(v) || typeof v.id !== 'string' || typeof v.type !== 'string' || !isObject(v.attributes)) {
    throw new ResponseShapeError('a resource without type, id or attributes');
  }
  const out: ApiResource = { type: v.type, id: v.id, attributes: v.attributes };
  const meta = v.meta;
  if (isObject(meta) && isObject(meta.page) && typeof meta.page.cursor === 'string') out.cursor = meta.page.cursor;
  return out;
}

export function parseSingle(body: unknown): ApiResource {
  if (!isObject(body)) throw new ResponseShapeError('something that is not a JSON object');
  return resource(body.data);
}

export function parsePage(body: unknown): ApiPage {
  if (!isObject(body)) throw new ResponseShapeError('something that is not a JSON object');
  if (!Array.isArray(body.data)) throw new ResponseShapeError('a list without data');
  const page: ApiPage = { data: body.data.map(resource) };
  const next = isObject(body.links) ? body.links.next : undefined;
  if (typeof next === 'string' && next !== '') page.next = next;
  const count = isObject(body.meta) ? body.meta.count : undefined;
  if (typeof count === 'number' && Number.isInteger(count) && count >= 0) page.count = count;
  return page;
}

/** meta.count of a list answered with count=only (no data) or with data. */
export function parseCount(body: unknown): number | undefined {
  if (!isObject(body) || !isObject(body.meta)) return undefined;
  const count = body.meta.count;
  return typeof count === 'number' && Number.isInteger(count) && count >= 0 ? count : undefined;
}

function string(r: ApiResource, key: string): string {
  const v = r.attributes[key];
  if (typeof v !== 'string') throw new ResponseShapeError(`a ${r.type} without ${key}`);
  return v;
}

function nullableString(r: ApiResource, key: string): string | null {
  const v = r.attributes[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new ResponseShapeError(`a ${r.type} whose ${key} is not a string`);
  return v;
}

export function toUser(r: ApiResource): MasUser {
  const admin = r.attributes.admin;
  if (typeof admin !== 'boolean') throw new ResponseShapeError('a user without admin');
  return {
    id: r.id,
    username: string(r, 'username'),
    createdAt: string(r, 'created_at'),
    lockedAt: nullableString(r, 'locked_at'),
    // deactivated_at exists since MAS 0.20; before, a locked user was also deactivated on Synapse.
    deactivatedAt: nullableString(r, 'deactivated_at'),
    admin,
  };
}

export function toEmail(r: ApiResource): MasEmail {
  return { id: r.id, userId: string(r, 'user_id'), email: string(r, 'email') };
}

export function toProvider(r: ApiResource): MasUpstreamProvider {
  const provider: MasUpstreamProvider = { id: r.id, enabled: nullableString(r, 'disabled_at') === null };
  const label = nullableString(r, 'human_name') ?? nullableString(r, 'issuer');
  if (label !== null) provider.label = label;
  return provider;
}

export function toLink(r: ApiResource): MasUpstreamLink {
  return {
    id: r.id,
    providerId: string(r, 'provider_id'),
    subject: string(r, 'subject'),
    userId: nullableString(r, 'user_id'),
    humanAccountName: nullableString(r, 'human_account_name'),
  };
}

function nullableCount(r: ApiResource, key: string): number | null {
  const v = r.attributes[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ResponseShapeError(`a ${r.type} whose ${key} is not a count`);
  return v;
}

export function toRegistrationToken(r: ApiResource): MasRegistrationToken {
  return {
    id: r.id,
    // A Secret from here on: it is scrubbed from every output and prints as [redacted].
    token: Secret.fromString(string(r, 'token')),
    usageLimit: nullableCount(r, 'usage_limit'),
    timesUsed: nullableCount(r, 'times_used') ?? 0,
    createdAt: string(r, 'created_at'),
    lastUsedAt: nullableString(r, 'last_used_at'),
    expiresAt: nullableString(r, 'expires_at'),
    revokedAt: nullableString(r, 'revoked_at'),
  };
}

/** A session of any kind; an OAuth 2.0 session's device and admin rights are read from its scope. */
export function toSession(kind: SessionKind, r: ApiResource): MasSession {
  const session: MasSession = {
    kind,
    id: r.id,
    deviceId: kind === 'compat' ? nullableString(r, 'device_id') : null,
    createdAt: string(r, 'created_at'),
    finishedAt: nullableString(r, 'finished_at'),
    lastActiveAt: nullableString(r, 'last_active_at'),
    lastActiveIp: nullableString(r, 'last_active_ip'),
    userAgent: nullableString(r, 'user_agent'),
    // The admin API does not show a compatibility session's is_synapse_admin.
    synapseAdmin: null,
  };
  if (kind === 'oauth2') {
    const scope = (nullableString(r, 'scope') ?? '').split(' ').filter((t) => t !== '');
    session.deviceId = deviceOfScope(scope);
    session.synapseAdmin = scope.includes(SYNAPSE_ADMIN_SCOPE);
    session.clientId = string(r, 'client_id');
  }
  if (kind !== 'browser') session.humanName = nullableString(r, 'human_name');
  return session;
}

/** The cursor to continue after `page`: the last item's own cursor, else page[after] of links.next. */
export function nextCursor(page: ApiPage): string | undefined {
  if (page.next === undefined) return undefined;
  const last = page.data[page.data.length - 1];
  if (last?.cursor !== undefined) return last.cursor;
  // Before MAS 1.4 items carry no cursor; links.next carries it (it is the last item's id).
  const fromLink = new URL(page.next, 'http://links.invalid/').searchParams.get('page[after]');
  return fromLink ?? last?.id;
}
