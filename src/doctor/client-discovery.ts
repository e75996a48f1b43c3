// How a Matrix client finds the homeserver of a server name, done once per doctor run and shared by
// every check that looks at the deployment from the outside (the well-known checks, the routing
// checks, the TLS check), so that they cannot disagree about which document or base URL they saw.
//
// The lookup is the one Element's SDK does (matrix-js-sdk AutoDiscovery.findClientConfig), which is
// the spec's algorithm with one difference that matters: the document is fetched from
// https://<server name>/.well-known/matrix/client with the server name as given, port included
// (findClientConfig is handed the domain part of the user ID, "localhost:18443" for
// @alice:localhost:18443), whereas the spec's text speaks of the hostname. Dropping the port sent
// doctor to a host where nothing is served while Element, on the same deployment, logs in.
//
// Outcomes, with the spec's names for what a client then does:
// - 404: IGNORE (no well-known; the client asks the user for the homeserver URL);
// - any other failure, a body that is not JSON, no m.homeserver.base_url: FAIL_PROMPT;
// - a base_url that is not an http(s) URL, or whose /_matrix/client/versions does not answer as a
//   homeserver (or lists no v1.1 or later, which Element's SDK also refuses): FAIL_ERROR;
// - else SUCCESS, and the base URL is the one clients use.
// --base-url names the client base URL when doctor cannot find it where it runs; it is then used by
// the routing checks, and validated the same way.
import { isFailure, type HttpClient, type HttpFailure, type HttpResponse } from '../http/client.js';
import { probeVersions, type VersionsProbe } from './matrix-versions.js';

export type DiscoveryAction = 'SUCCESS' | 'IGNORE' | 'FAIL_PROMPT' | 'FAIL_ERROR';

export type WellKnownOutcome = 'found' | 'missing' | 'unreachable' | 'error-status' | 'not-json' | 'no-base-url' | 'invalid-base-url' | 'bad-server-name';

export interface WellKnownLookup {
  url: string;
  /** Where the URL came from: the server name (as clients build it) or --well-known-url. */
  from: 'server-name' | '--well-known-url';
  outcome: WellKnownOutcome;
  /** The answer, for the checks that read its headers and body; never part of the JSON output. */
  response?: HttpResponse;
  failure?: HttpFailure;
  /** The body, when it parsed as JSON. */
  document?: unknown;
  /** m.homeserver.base_url as written, when it is a string. */
  baseUrl?: string;
  /** Its /_matrix/client/versions, when it is an http(s) URL. */
  versions?: VersionsProbe;
  /** What a client does next, in the spec's words. */
  action: DiscoveryAction;
}

export interface ClientBase {
  /** The base URL, as written in the well-known or given with --base-url. */
  url: string;
  from: 'well-known' | '--base-url';
  versions: VersionsProbe;
  /** It answers as a Matrix homeserver that Element's SDK accepts: routing checks can run on it. */
  usable: boolean;
}

export interface ClientDiscovery {
  serverName: string;
  wellKnown: WellKnownLookup;
  /** The base URL clients use, when it could be determined. */
  base?: ClientBase;
}

export interface DiscoveryInput {
  http: HttpClient;
  serverName: string;
  wellKnownUrl: string;
  wellKnownFrom: WellKnownLookup['from'];
  /** --base-url. */
  baseUrl?: string;
}

/** Where clients look up the client well-known of a server name: the server name as given, port included. */
export function wellKnownUrlFor(serverName: string): string {
  return `https://${serverName}/.well-known/matrix/client`;
}

/** An http(s) URL with a host, as Element's SDK requires of a base_url; otherwise undefined. */
export function httpUrl(value: string): URL | undefined {
  if (!URL.canParse(value)) return undefined;
  const url = new URL(value);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' ? url : undefined;
}

function isUsable(v: VersionsProbe): boolean {
  return v.matrix && v.supportedByElement === true;
}

/** Same base URL once normalised (a trailing slash, default ports, case of the host). */
function sameBase(a: string, b: string): boolean {
  const [x, y] = [httpUrl(a), httpUrl(b)];
  if (x === undefined || y === undefined) return a === b;
  const strip = (u: URL): string => `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  return strip(x) === strip(y);
}

async function lookUpWellKnown(input: DiscoveryInput): Promise<WellKnownLookup> {
  const base = { url: input.wellKnownUrl, from: input.wellKnownFrom };
  if (httpUrl(input.wellKnownUrl) === undefined) return { ...base, outcome: 'bad-server-name', action: 'FAIL_PROMPT' };
  const r = await input.http.fetch(input.wellKnownUrl);
  if (isFailure(r)) return { ...base, outcome: 'unreachable', failure: r, action: 'FAIL_PROMPT' };
  if (r.status === 404) return { ...base, outcome: 'missing', response: r, action: 'IGNORE' };
  if (r.status < 200 || r.status > 299) return { ...base, outcome: 'error-status', response: r, action: 'FAIL_PROMPT' };
  let document: unknown;
  try {
    document = JSON.parse(r.body);
  } catch {
    return { ...base, outcome: 'not-json', response: r, action: 'FAIL_PROMPT' };
  }
  const homeserver = typeof document === 'object' && document !== null ? (document as Record<string, unknown>)['m.homeserver'] : undefined;
  const baseUrl = typeof homeserver === 'object' && homeserver !== null ? (homeserver as Record<string, unknown>).base_url : undefined;
  if (typeof baseUrl !== 'string' || baseUrl === '') return { ...base, outcome: 'no-base-url', response: r, document, action: 'FAIL_PROMPT' };
  if (httpUrl(baseUrl) === undefined) return { ...base, outcome: 'invalid-base-url', response: r, document, baseUrl, action: 'FAIL_ERROR' };
  const versions = await probeVersions(input.http, baseUrl);
  return { ...base, outcome: 'found', response: r, document, baseUrl, versions, action: isUsable(versions) ? 'SUCCESS' : 'FAIL_ERROR' };
}

export async function discoverClient(input: DiscoveryInput): Promise<ClientDiscovery> {
  // Both at once: --base-url does not depend on the well-known, and each costs up to a timeout.
  const [wellKnown, flagged] = await Promise.all([
    lookUpWellKnown(input),
    input.baseUrl !== undefined ? probeVersions(input.http, input.baseUrl) : Promise.resolve(undefined),
  ]);
  const out: ClientDiscovery = { serverName: input.serverName, wellKnown };
  if (input.baseUrl !== undefined && flagged !== undefined) {
    out.base = { url: input.baseUrl, from: '--base-url', versions: flagged, usable: isUsable(flagged) };
  } else if (wellKnown.baseUrl !== undefined && wellKnown.versions !== undefined) {
    // As Element's SDK does, a base_url that fails validation is still the one clients were given.
    out.base = { url: wellKnown.baseUrl, from: 'well-known', versions: wellKnown.versions, usable: isUsable(wellKnown.versions) };
  }
  return out;
}

/** Whether --base-url names another base URL than the well-known gives (worth saying: clients use the well-known's). */
export function baseDiffersFromWellKnown(d: ClientDiscovery): boolean {
  return d.base?.from === '--base-url' && d.wellKnown.baseUrl !== undefined && !sameBase(d.base.url, d.wellKnown.baseUrl);
}

/** One phrase for why there is no base URL, after "the client base URL is unknown: ". */
export function whyNoBase(w: WellKnownLookup): string {
  switch (w.outcome) {
    case 'missing':
      return `${w.url} answered 404`;
    case 'unreachable':
      return `${w.url} could not be fetched (${w.failure?.message ?? 'no answer'})`;
    case 'error-status':
      return `${w.url} answered ${w.response?.status ?? '?'}`;
    case 'not-json':
      return `${w.url} is not JSON`;
    case 'no-base-url':
      return `${w.url} has no m.homeserver.base_url`;
    case 'invalid-base-url':
      return `the m.homeserver.base_url of ${w.url} ("${w.baseUrl ?? ''}") is not an http(s) URL`;
    case 'bad-server-name':
      return `the server name does not make a URL (${w.url})`;
    case 'found':
      return `${w.url} gives ${w.baseUrl ?? '?'}`;
  }
}

/** The discovery as it appears in --json (the `discovery` key) and atop the human output. No bodies. */
export interface DiscoveryReport {
  serverName: string;
  wellKnown: {
    url: string;
    from: WellKnownLookup['from'];
    outcome: WellKnownOutcome;
    action: DiscoveryAction;
    status?: number;
    failure?: string;
    message?: string;
    baseUrl?: string;
    versions?: VersionsProbe;
  };
  /** The base URL the routing checks use, or null when it could not be determined. */
  baseUrl: string | null;
  baseUrlFrom: ClientBase['from'] | null;
  /** It answers as a Matrix homeserver (else the routing checks are skipped). */
  baseUrlUsable: boolean;
  /** Why there is no base URL. */
  reason?: string;
  versions?: VersionsProbe;
}

export function discoveryJson(d: ClientDiscovery): DiscoveryReport {
  const w = d.wellKnown;
  return {
    serverName: d.serverName,
    wellKnown: {
      url: w.url,
      from: w.from,
      outcome: w.outcome,
      action: w.action,
      ...(w.response !== undefined ? { status: w.response.status } : {}),
      ...(w.failure !== undefined ? { failure: w.failure.failure, message: w.failure.message } : {}),
      ...(w.baseUrl !== undefined ? { baseUrl: w.baseUrl } : {}),
      ...(w.versions !== undefined ? { versions: w.versions } : {}),
    },
    baseUrl: d.base?.url ?? null,
    baseUrlFrom: d.base?.from ?? null,
    baseUrlUsable: d.base?.usable ?? false,
    ...(d.base === undefined ? { reason: whyNoBase(w) } : { versions: d.base.versions }),
  };
}

/** The discovery, started on the first call and shared by every later one. */
export function sharedDiscovery(input: DiscoveryInput): { get(): Promise<ClientDiscovery>; started(): Promise<ClientDiscovery> | undefined } {
  let promise: Promise<ClientDiscovery> | undefined;
  return {
    get: () => (promise ??= discoverClient(input)),
    started: () => promise,
  };
}
