// Small pieces the HTTP checks share: reading answers, collecting problems into one result, and the
// issuer MAS publishes.
//
// Issuers are compared byte for byte, because clients do (MAS #2800: an issuer without its trailing
// slash on one side breaks Element X). The issuer that MAS publishes is its configured http.issuer
// (else http.public_base) serialised as a URL, which for a bare origin always ends with "/"; so the
// expected value is the configured one as the WHATWG URL parser writes it, and a path's trailing
// slash is kept as written.
import { isFailure, type HttpResponse, type HttpResult } from '../../http/client.js';
import { DOCS, type CheckResult, type CheckStatus, type DoctorContext } from '../check.js';

export type Result = Omit<CheckResult, 'id' | 'family'>;

/** A token no server has issued, for probes that must be refused. */
export const BOGUS_TOKEN = 'mas-tool-doctor-invalid-token-0000000000';

/** One problem a check found; the check's status is the worst of them. */
export interface Problem {
  status: 'warn' | 'fail';
  text: string;
  fix?: string;
}

export function worst(problems: readonly Problem[]): CheckStatus {
  if (problems.some((p) => p.status === 'fail')) return 'fail';
  return problems.length > 0 ? 'warn' : 'pass';
}

export function fixes(problems: readonly Problem[]): string | undefined {
  const all = [...new Set(problems.flatMap((p) => (p.fix === undefined ? [] : [p.fix])))];
  return all.length > 0 ? all.join(' ') : undefined;
}

/** The configured issuer, and the exact string MAS publishes for it (see the top of this file). */
export function issuers(ctx: DoctorContext): { configured: string; expected: string } | undefined {
  if (ctx.issuer === undefined) return undefined;
  return { configured: ctx.issuer, expected: URL.canParse(ctx.issuer) ? new URL(ctx.issuer).href : ctx.issuer };
}

export function ok(r: HttpResult): boolean {
  return !isFailure(r) && r.status >= 200 && r.status <= 299;
}

export function what(r: HttpResult): string {
  return isFailure(r) ? `could not be reached (${r.message})` : `answered ${r.status}`;
}

export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function errcode(r: HttpResponse): string | undefined {
  const doc = parseJson(r.body);
  return isObject(doc) && typeof doc.errcode === 'string' ? doc.errcode : undefined;
}

/** A well-known body to suggest, with a base URL on a matrix. host under the server name's host. */
export function exampleWellKnown(serverName: string): string {
  const host = serverName.startsWith('[') ? 'example.com' : serverName.replace(/:\d+$/, '');
  return JSON.stringify({ 'm.homeserver': { base_url: `https://matrix.${host}/` } });
}

export const SKIP_NO_ISSUER: Result = { status: 'skip', message: 'Skipped: the MAS config sets neither http.issuer nor http.public_base (see issuer.https).', docs: DOCS.general };
