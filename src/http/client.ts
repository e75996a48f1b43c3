// The HTTP client of doctor and of manage's admin API backend: undici with a per-request timeout,
// redirects followed by hand so that an Authorization header never follows a redirect to another
// origin, an optional private CA, and failures turned into data (what went wrong, in one phrase)
// rather than exceptions.
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import { ConfigError } from '../errors.js';
import { scrubSecrets } from '../secret.js';

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The URL that answered, after redirects. */
  url: string;
  /** Every URL visited, in order, the first being the one asked for. */
  chain: string[];
}

export type HttpFailureKind = 'timeout' | 'refused' | 'dns' | 'tls' | 'reset' | 'redirects' | 'other';

export interface HttpFailure {
  failure: HttpFailureKind;
  /** One phrase: "timed out after 5 s", "certificate has expired", ... */
  message: string;
  url: string;
}

export type HttpResult = HttpResponse | HttpFailure;

export function isFailure(r: HttpResult): r is HttpFailure {
  return 'failure' in r;
}

export interface HttpClientOptions {
  timeoutMs: number;
  /** PEM file of extra trusted CAs (a private CA). */
  caFile?: string;
  maxRedirects?: number;
  /** The User-Agent header (MAS logs it): which mas-tool command is asking. Default mas-tool-doctor. */
  userAgent?: string;
}

export interface HttpRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  /** Sent only to the origin of the first URL; dropped when a redirect leaves it. */
  authorization?: string;
  body?: string;
}

export interface HttpClient {
  fetch(url: string, init?: HttpRequest): Promise<HttpResult>;
  close(): Promise<void>;
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  let ca: string[] | undefined;
  if (options.caFile !== undefined) {
    try {
      // Added to the public CAs, not instead of them: public origins must still verify.
      ca = [...rootCertificates, readFileSync(options.caFile, 'utf8')];
    } catch (cause) {
      throw new ConfigError(`Cannot read the CA file ${options.caFile}.`, { cause, hint: 'Pass a PEM file with --ca-file.' });
    }
  }
  const agent: Dispatcher = new Agent({
    connect: { timeout: options.timeoutMs, ...(ca !== undefined ? { ca } : {}) },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    keepAliveTimeout: 10,
  });
  const maxRedirects = options.maxRedirects ?? 5;
  const userAgent = options.userAgent ?? 'mas-tool-doctor';

  return {
    async fetch(url, init = {}) {
      const chain: string[] = [];
      let current = url;
      const origin = new URL(url).origin;
      for (let hop = 0; hop <= maxRedirects; hop++) {
        chain.push(current);
        const headers: Record<string, string> = { 'user-agent': userAgent, ...init.headers };
        if (init.authorization !== undefined && new URL(current).origin === origin) headers.authorization = init.authorization;
        try {
          const res = await request(current, {
            dispatcher: agent,
            method: hop === 0 ? (init.method ?? 'GET') : 'GET',
            headers,
            ...(hop === 0 && init.body !== undefined ? { body: init.body } : {}),
            signal: AbortSignal.timeout(options.timeoutMs),
          });
          const body = await res.body.text();
          const flat: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
          const location = flat.location;
          if (res.statusCode >= 300 && res.statusCode < 400 && location !== undefined) {
            current = new URL(location, current).toString();
            continue;
          }
          return { status: res.statusCode, headers: flat, body, url: current, chain };
        } catch (error) {
          return { ...describeFailure(error, options.timeoutMs), url: current };
        }
      }
      return { failure: 'redirects', message: `more than ${maxRedirects} redirects`, url: current };
    },
    async close() {
      await agent.close();
    },
  };
}

function describeFailure(error: unknown, timeoutMs: number): { failure: HttpFailureKind; message: string } {
  const e = error as { code?: string; name?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  // The network stack's words, which may quote a URL with credentials in it.
  const message = scrubSecrets(e.cause?.message ?? e.message ?? String(error));
  if (e.name === 'TimeoutError' || /TIMEOUT/.test(code) || e.name === 'AbortError') return { failure: 'timeout', message: `no answer within ${timeoutMs / 1000} s` };
  if (code === 'ECONNREFUSED') return { failure: 'refused', message: 'connection refused' };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { failure: 'dns', message: 'the host name does not resolve' };
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|SSL/.test(code) || /certificate/i.test(message)) return { failure: 'tls', message: `TLS: ${message}` };
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return { failure: 'reset', message: 'the connection was closed' };
  return { failure: 'other', message };
}
