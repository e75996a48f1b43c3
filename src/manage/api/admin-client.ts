// Requests to the MAS admin API: a bearer token from AdminTokenSource (renewed once when the API says
// 401), every path segment percent-encoded, JSON bodies, cursor pagination followed to the end, and
// every failure turned into an error that says what mas-tool was doing and what MAS answered.
import { isFailure, type HttpClient, type HttpResponse } from '../../http/client.js';
import { errorTitles } from '../../http/openid.js';
import { Secret } from '../../secret.js';
import { missingError, statusError, unauthorizedError, unexpectedResponseError, unreachableError, unsupportedError } from './errors.js';
import { nextCursor, parseCount, parsePage, parseSingle, ResponseShapeError, type ApiResource } from './resources.js';
import type { AdminTokenSource } from './token.js';

/** The page size asked for when listing: MAS documents no maximum, and its default (10) is small. */
const PAGE_SIZE = 100;

export type AdminMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Names a user in the action of a request ("user alice"), given their id. */
export type UserLabel = (userId: string) => string;

export interface AdminRequest {
  method: AdminMethod;
  /** Path segments below /api/admin/v1/, each percent-encoded here (a username may hold a slash). */
  path: readonly string[];
  query?: ReadonlyArray<readonly [string, string]>;
  /** Sent as JSON. A Secret in it is revealed only while it is serialised. */
  body?: Record<string, unknown>;
  /** What mas-tool is doing, for messages: "locking user alice". */
  action: string;
  /** Error statuses handed back instead of thrown (404 for a lookup that may find nothing). */
  accept?: readonly number[];
  /** A fix to suggest for an error status. */
  hints?: Partial<Record<number, string>>;
  /** The MAS release that added this route, for the message when this MAS does not have it. */
  since?: string;
}

export interface AdminResponse {
  status: number;
  /** The parsed JSON (null for an empty body). */
  body: unknown;
  /** MAS's error titles joined with ': ', on an error status. */
  titles?: string;
}

export interface AdminApiClientOptions {
  http: HttpClient;
  /** The admin API root, ending in /api/admin/v1/. */
  baseUrl: string;
  tokens: AdminTokenSource;
  /** For messages about a refused token. */
  issuer: string;
  /** Whether baseUrl came from --admin-api-url rather than public_base, for messages. */
  fromFlag?: boolean;
}

/** Query keys keep their brackets readable (filter[user], page[after]); values are encoded. */
const encodeKey = (k: string): string => encodeURIComponent(k).replace(/%5B/g, '[').replace(/%5D/g, ']');

/** JSON.stringify that reveals Secret values: the replacer sees the value before its toJSON ran. */
function serialise(body: Record<string, unknown>): string {
  return JSON.stringify(body, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    return raw instanceof Secret ? raw.reveal() : value;
  });
}

export class AdminApiClient {
  readonly baseUrl: string;
  readonly #http: HttpClient;
  readonly #tokens: AdminTokenSource;
  readonly #issuer: string;
  readonly #fromFlag: boolean;
  /** Whether the admin API answers at all, once a path was not found (see #notFound). */
  #apiPresent: boolean | undefined;

  constructor(options: AdminApiClientOptions) {
    this.baseUrl = options.baseUrl;
    this.#http = options.http;
    this.#tokens = options.tokens;
    this.#issuer = options.issuer;
    this.#fromFlag = options.fromFlag ?? false;
  }

  url(path: readonly string[], query: ReadonlyArray<readonly [string, string]> = []): string {
    const p = path.map((s) => encodeURIComponent(s)).join('/');
    const q = query.map(([k, v]) => `${encodeKey(k)}=${encodeURIComponent(v)}`).join('&');
    return `${this.baseUrl}${p}${q === '' ? '' : `?${q}`}`;
  }

  async request(req: AdminRequest): Promise<AdminResponse> {
    const url = this.url(req.path, req.query);
    let token = await this.#tokens.get();
    let r = await this.#send(url, req, token);
    if (r.status === 401) {
      // An expired or revoked token: one new token, one more try. A second 401 is not about age.
      this.#tokens.invalidate(token);
      token = await this.#tokens.get();
      r = await this.#send(url, req, token);
      if (r.status === 401) throw unauthorizedError(req.action, url, errorTitles(r.body), this.#issuer);
    }
    const titles = r.status >= 400 ? errorTitles(r.body) : undefined;
    // MAS answers every route it has with JSON errors; a bare 404 means no route at all.
    if (r.status === 404 && titles === undefined) throw await this.#notFound(req);
    if (r.status >= 400 && !(req.accept ?? []).includes(r.status)) throw statusError(req.action, r.status, titles, req.hints?.[r.status]);
    let body: unknown = null;
    if (r.body.trim() !== '') {
      try {
        body = JSON.parse(r.body) as unknown;
      } catch {
        throw unexpectedResponseError(req.action, url, `${r.status} with a body that is not JSON`);
      }
    }
    return { status: r.status, body, ...(titles !== undefined ? { titles } : {}) };
  }

  /** One resource, mapped; undefined when the status is one of `req.accept`. */
  async one<T>(req: AdminRequest, map: (r: ApiResource) => T): Promise<T | undefined> {
    const r = await this.request(req);
    if (r.status >= 400) return undefined;
    return this.#shaped(req, () => map(parseSingle(r.body)));
  }

  /** Every item of a list, page after page, mapped. */
  async list<T>(req: Omit<AdminRequest, 'method' | 'body'>, map: (r: ApiResource) => T, options: { maxPages?: number } = {}): Promise<T[]> {
    const out: T[] = [];
    let pages = 0;
    for await (const page of this.pages(req, map)) {
      out.push(...page.items);
      if (options.maxPages !== undefined && ++pages >= options.maxPages) break;
    }
    return out;
  }

  /** The pages of a list as they come, so that a caller can stop when it has enough. */
  async *pages<T>(req: Omit<AdminRequest, 'method' | 'body'>, map: (r: ApiResource) => T): AsyncGenerator<{ items: T[]; count?: number }> {
    let after: string | undefined;
    for (;;) {
      const query: Array<readonly [string, string]> = [...(req.query ?? []), ['page[first]', String(PAGE_SIZE)]];
      if (after !== undefined) query.push(['page[after]', after]);
      const r = await this.request({ ...req, method: 'GET', query });
      // An accepted error status (a 404 for a filter on a user that is gone): nothing to list.
      if (r.status >= 400) return;
      const page = this.#shaped(req, () => parsePage(r.body));
      yield { items: this.#shaped(req, () => page.data.map(map)), ...(page.count !== undefined ? { count: page.count } : {}) };
      const cursor = nextCursor(page);
      // No next page, or a cursor that does not move on (which would loop for ever).
      if (cursor === undefined || cursor === after || page.data.length === 0) return;
      after = cursor;
    }
  }

  /**
   * How many items a list has, with count=only (MAS 1.4 and later send no items then). An older
   * MAS ignores the parameter and sends a page with meta.count; without a count, they are listed.
   */
  async count(req: Omit<AdminRequest, 'method' | 'body'>): Promise<number> {
    const r = await this.request({ ...req, method: 'GET', query: [...(req.query ?? []), ['count', 'only'], ['page[first]', '1']] });
    if (r.status >= 400) return 0;
    const counted = parseCount(r.body);
    if (counted !== undefined) return counted;
    return (await this.list(req, () => 1)).length;
  }

  #shaped<T>(req: AdminRequest | Omit<AdminRequest, 'method' | 'body'>, read: () => T): T {
    try {
      return read();
    } catch (error) {
      if (error instanceof ResponseShapeError) throw unexpectedResponseError(req.action, this.url(req.path), error.message);
      throw error;
    }
  }

  async #send(url: string, req: AdminRequest, token: string): Promise<HttpResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    const r = await this.#http.fetch(url, {
      method: req.method,
      headers,
      authorization: `Bearer ${token}`,
      ...(req.body !== undefined ? { body: serialise(req.body) } : {}),
    });
    if (isFailure(r)) throw unreachableError(url, req.action, r.message, r.failure);
    return r;
  }

  /**
   * A 404 without MAS's JSON errors: either there is no admin API here at all, or this MAS predates
   * the route. A list of users (there since the admin API's first release) tells which.
   */
  async #notFound(req: AdminRequest): Promise<Error> {
    if (this.#apiPresent === undefined) {
      const token = await this.#tokens.get();
      const probe = await this.#send(this.url(['users'], [['page[first]', '1']]), { method: 'GET', path: ['users'], action: req.action }, token);
      this.#apiPresent = !(probe.status === 404 && errorTitles(probe.body) === undefined);
    }
    if (!this.#apiPresent) return missingError(this.baseUrl, req.action, this.#fromFlag);
    return unsupportedError(req.action, req.method, `/api/admin/v1/${req.path.map((s) => encodeURIComponent(s)).join('/')}`, req.since);
  }
}
