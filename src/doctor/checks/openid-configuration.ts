// discovery.openid_configuration: MAS's own OpenID discovery document, as clients fetch it from the
// issuer: the issuer byte for byte (see shared.ts), account_management_uri, and endpoints that
// clients can use (HTTPS, never MAS's default public base http://[::]:8080/).
import { allowInsecureRequests, customFetch, discovery, type CustomFetch } from 'openid-client';
import { isFailure, type HttpResult } from '../../http/client.js';
import { joinUrl } from '../../http/url.js';
import { DOCS, type DoctorCheck, type DoctorContext } from '../check.js';
import { fixes, isObject, issuers, parseJson, SKIP_NO_ISSUER, worst, type Problem, type Result } from './shared.js';

const MAS_DEFAULT_PUBLIC_BASE = 'http://[::]:8080/';

function isUnspecifiedHost(hostname: string): boolean {
  return hostname === '[::]' || hostname === '0.0.0.0' || hostname === '';
}

/**
 * MAS's OpenID discovery document, fetched with openid-client's discovery(), which builds the
 * well-known URL from the issuer (with or without a trailing slash) and checks the status, the JSON
 * content type and the issuer (after URL normalisation only, hence the byte check below). Its
 * requests go through doctor's HTTP client (custom fetch), so --ca-file and --timeout apply, and the
 * answer seen is kept to show what MAS said when the library refuses it.
 */
async function openidConfiguration(ctx: DoctorContext): Promise<Result> {
  const iss = issuers(ctx);
  if (iss === undefined) return SKIP_NO_ISSUER;
  if (!URL.canParse(iss.configured)) {
    return { status: 'fail', message: `The configured issuer "${iss.configured}" is not a URL.`, fix: 'Set http.public_base (and http.issuer, if set) to the public HTTPS URL of MAS.', docs: DOCS.general };
  }
  const issuerUrl = new URL(iss.configured);
  const documentUrl = joinUrl(issuerUrl.href, '/.well-known/openid-configuration');
  let seen: HttpResult | undefined;
  const viaDoctorClient: CustomFetch = async (url, options) => {
    const method = options.method === 'POST' ? 'POST' : 'GET';
    const r = await ctx.http.fetch(url, { method, headers: options.headers });
    seen = r;
    if (isFailure(r)) throw new Error(r.message);
    return new Response(r.body === '' || r.status === 204 || r.status === 304 ? null : r.body, { status: r.status, headers: r.headers });
  };
  let metadata: Record<string, unknown>;
  try {
    const config = await discovery(issuerUrl, 'mas-tool-doctor', undefined, undefined, {
      [customFetch]: viaDoctorClient,
      execute: issuerUrl.protocol === 'http:' ? [allowInsecureRequests] : [],
      timeout: Math.ceil(ctx.timeoutMs / 1000) + 1,
    });
    metadata = config.serverMetadata() as Record<string, unknown>;
  } catch (error) {
    const r = seen as HttpResult | undefined;
    const details: Record<string, unknown> = { url: documentUrl, expected: iss.expected };
    if (r === undefined || isFailure(r)) {
      if (r !== undefined) details.failure = r.failure;
      return {
        status: 'fail',
        message: `MAS's discovery document at ${documentUrl} could not be fetched (${r?.message ?? (error instanceof Error ? error.message : String(error))}).`,
        fix: 'Check that MAS runs and that http.public_base (or http.issuer) is the URL it is reached at from here.',
        docs: DOCS.general,
        details,
      };
    }
    details.status = r.status;
    const doc = parseJson(r.body);
    const got = isObject(doc) ? doc.issuer : undefined;
    if (r.status === 200 && typeof got === 'string' && got !== iss.expected) return issuerMismatch(documentUrl, got, iss);
    return {
      status: 'fail',
      message: `MAS's discovery document at ${documentUrl} is not valid (${r.status !== 200 ? `status ${r.status}` : error instanceof Error ? error.message : String(error)}).`,
      fix: 'Check that http.public_base (or http.issuer) is the URL MAS is served at, and that the reverse proxy sends /.well-known/openid-configuration on it to MAS.',
      docs: DOCS.general,
      details,
    };
  }
  // openid-client compared URL-normalised issuers; clients compare strings.
  if (metadata.issuer !== iss.expected) return issuerMismatch(documentUrl, String(metadata.issuer), iss);

  const problems: Problem[] = [];
  if (typeof metadata.account_management_uri !== 'string') {
    problems.push({
      status: 'warn',
      text: 'it has no account_management_uri, so clients cannot send users to their account page',
      fix: 'Check that the issuer URL serves MAS and not another OpenID provider (MAS publishes <http.public_base>account/ there); upgrade an old MAS.',
    });
  }
  const endpoints = Object.entries(metadata).flatMap(([key, value]) =>
    (key.endsWith('_endpoint') || key.endsWith('_uri')) && typeof value === 'string' && URL.canParse(value) ? [{ key, url: new URL(value) }] : [],
  );
  const list = (some: ReadonlyArray<{ key: string; url: URL }>): string =>
    some
      .slice(0, 3)
      .map((e) => `${e.key} ${e.url.href}`)
      .join(', ') + (some.length > 3 ? ` and ${some.length - 3} more` : '');
  const unreachable = endpoints.filter((e) => isUnspecifiedHost(e.url.hostname));
  if (unreachable.length > 0) {
    const isDefault = unreachable.some((e) => e.url.href.startsWith(MAS_DEFAULT_PUBLIC_BASE));
    problems.push({
      status: 'fail',
      text: `it advertises endpoints ${isDefault ? `on MAS's default public base ${MAS_DEFAULT_PUBLIC_BASE}` : 'on an address no client can reach'} (${list(unreachable)})`,
      fix: `Set http.public_base in the MAS config to the public HTTPS URL of MAS${iss.expected.startsWith('https://') ? ` (${iss.expected})` : ''}, then restart MAS.`,
    });
  }
  const plain = endpoints.filter((e) => e.url.protocol === 'http:' && !isUnspecifiedHost(e.url.hostname));
  if (plain.length > 0) {
    problems.push({
      status: 'warn',
      text: `it advertises endpoints over plain HTTP (${list(plain)}); clients refuse them`,
      fix: 'Serve MAS over HTTPS and set http.public_base to its https:// URL.',
    });
  }
  const details = { url: documentUrl, issuer: metadata.issuer, endpoints: Object.fromEntries(endpoints.map((e) => [e.key, e.url.href])) };
  if (problems.length === 0) return { status: 'pass', message: `MAS's discovery document at ${documentUrl} gives the configured issuer ${iss.expected}, and its endpoints are HTTPS.`, details };
  const fix = fixes(problems);
  return { status: worst(problems), message: `MAS's discovery document at ${documentUrl}: ${problems.map((p) => p.text).join('; ')}.`, ...(fix !== undefined ? { fix } : {}), docs: DOCS.general, details };
}

function issuerMismatch(url: string, got: string, iss: { configured: string; expected: string }): Result {
  return {
    status: 'fail',
    message: `MAS's discovery document at ${url} gives the issuer "${got}", but the configured issuer is "${iss.expected}": clients compare them byte for byte (trailing slash included) and refuse MAS.`,
    fix: 'Run doctor with the config MAS runs with, and make http.issuer (or http.public_base) exactly the issuer MAS publishes; check that no proxy rewrites the document.',
    docs: DOCS.general,
    details: { url, issuer: got, expected: iss.expected, ...(iss.configured !== iss.expected ? { configured: iss.configured } : {}) },
  };
}

export const openidConfigurationChecks: DoctorCheck[] = [{ id: 'discovery.openid_configuration', family: 'discovery', run: (ctx) => openidConfiguration(ctx) }];
