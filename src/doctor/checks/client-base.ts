// The client base URL: the check that reports which one clients use and whether it works, and the
// rule every routing check follows to pick where it probes.
//
// Routing checks (the legacy login, logout and refresh routes) run on the client-facing base URL
// only. matrix.endpoint is where MAS reaches Synapse, usually directly (http://synapse:8008/),
// without the reverse proxy that sends those routes to MAS; probed there, a healthy deployment
// would show every route "misrouted" and the fix would point at the wrong proxy. So when the base
// URL is unknown they are skipped, saying how to name it (--base-url).
import { baseDiffersFromWellKnown, discoveryJson, whyNoBase, type ClientDiscovery } from '../client-discovery.js';
import { versionRange } from '../matrix-versions.js';
import { DOCS, type DoctorCheck, type DoctorContext } from '../check.js';
import { fixes, worst, type Problem, type Result } from './shared.js';

export const CLIENT_BASE_CHECK = 'discovery.client_base_url';

/** How the base URL was found, for messages: "m.homeserver.base_url of https://…" or "--base-url". */
export function baseSource(d: ClientDiscovery): string {
  return d.base?.from === '--base-url' ? 'given with --base-url' : `m.homeserver.base_url of ${d.wellKnown.url}`;
}

const NAME_IT = 'name the public base URL clients use with --base-url URL (such as https://matrix.example.com/)';

export type RoutingBase = { base: string; discovery: ClientDiscovery } | { skip: Result };

/** Where a routing check probes, or why it is skipped. */
export async function routingBase(ctx: DoctorContext): Promise<RoutingBase> {
  const d = await ctx.clientDiscovery();
  if (d.base === undefined) {
    return {
      skip: {
        status: 'skip',
        message: `Skipped: the client base URL is unknown (${whyNoBase(d.wellKnown)}), and routing is only checked where clients go, never on matrix.endpoint; ${NAME_IT}.`,
        fix: `Run doctor with --base-url https://<the host clients use>/, or serve ${d.wellKnown.url} (see wellknown.client).`,
        docs: DOCS.wellKnown,
        details: { reason: 'base-url-unknown', wellKnownUrl: d.wellKnown.url, wellKnownOutcome: d.wellKnown.outcome },
      },
    };
  }
  if (!d.base.usable) {
    return {
      skip: {
        status: 'skip',
        message: `Skipped: the client base URL ${d.base.url} (${baseSource(d)}) does not answer as a Matrix homeserver (see ${CLIENT_BASE_CHECK}); ${NAME_IT} if clients use another one.`,
        docs: DOCS.wellKnown,
        details: { reason: 'base-url-not-matrix', baseUrl: d.base.url, baseUrlFrom: d.base.from, versionsUrl: d.base.versions.url },
      },
    };
  }
  return { base: d.base.url, discovery: d };
}

async function clientBaseUrl(ctx: DoctorContext): Promise<Result> {
  const d = await ctx.clientDiscovery();
  const details = { ...discoveryJson(d) };
  if (d.base === undefined) {
    return {
      status: 'skip',
      message: `Skipped: the client base URL is unknown (${whyNoBase(d.wellKnown)}; see wellknown.client). To run the routing checks anyway, ${NAME_IT}.`,
      docs: DOCS.wellKnown,
      details,
    };
  }
  const { base } = d;
  const v = base.versions;
  const problems: Problem[] = [];
  const fromFlag = base.from === '--base-url';
  const fix = fromFlag
    ? 'Give --base-url the public URL clients reach Synapse at (what m.homeserver.base_url should say), with /_matrix on it routed to Synapse.'
    : `Set m.homeserver.base_url in ${d.wellKnown.url} to the public URL clients reach Synapse at, and route /_matrix on it to Synapse.`;
  if (!v.matrix) problems.push({ status: 'fail', text: `${v.url} ${v.problem ?? 'did not answer as a homeserver'}`, fix });
  else if (v.supportedByElement !== true) {
    problems.push({ status: 'fail', text: `${v.url} lists only ${(v.versions ?? []).join(', ') || 'no versions'}; Element's SDK needs v1.1 or later`, fix: 'Upgrade the homeserver.' });
  }
  const notes: string[] = [];
  if (baseDiffersFromWellKnown(d)) {
    const wk = d.wellKnown;
    if (wk.action !== 'SUCCESS') {
      problems.push({
        status: 'warn',
        text: `clients that follow ${wk.url} get ${wk.baseUrl ?? '?'} instead, which ${wk.versions?.problem !== undefined ? `does not work (${wk.versions.url} ${wk.versions.problem})` : 'is not an http(s) URL'}`,
        fix: `Set m.homeserver.base_url in ${wk.url} to ${base.url}.`,
      });
    } else {
      notes.push(`The well-known gives ${wk.baseUrl ?? '?'}, which clients use; the routing checks use --base-url.`);
    }
  }
  if (problems.length === 0) {
    const note = notes.length > 0 ? ` Note: ${notes.join(' ')}` : '';
    return { status: 'pass', message: `Clients reach the homeserver at ${base.url} (${baseSource(d)}): ${v.url} lists ${versionRange(v.versions ?? [])}.${note}`, details };
  }
  const status = worst(problems);
  const lead = status === 'fail' ? `The client base URL ${base.url} (${baseSource(d)}) does not work: ` : `The client base URL ${base.url} (${baseSource(d)}) works, but `;
  const f = fixes(problems);
  return { status, message: `${lead}${problems.map((p) => p.text).join('; ')}.`, ...(f !== undefined ? { fix: f } : {}), docs: DOCS.wellKnown, details };
}

export const clientBaseChecks: DoctorCheck[] = [{ id: CLIENT_BASE_CHECK, family: 'discovery', run: (ctx) => clientBaseUrl(ctx) }];
