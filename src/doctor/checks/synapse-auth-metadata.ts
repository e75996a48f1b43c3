// discovery.synapse_auth_metadata: the discovery endpoints Synapse serves in front of MAS, which
// must give MAS's issuer byte for byte (see shared.ts).
//
// They are asked where clients ask them, on the client base URL. When that is unknown (or does not
// answer as a homeserver) they are asked on matrix.endpoint instead, and the message says so: unlike
// the legacy routes, these are Synapse's own answers, the same on any of its listeners, so the
// issuer comparison still means something there; what it cannot show is the reverse proxy.
import { isFailure } from '../../http/client.js';
import { joinUrl } from '../../http/url.js';
import { DOCS, type DoctorCheck, type DoctorContext } from '../check.js';
import { baseSource } from './client-base.js';
import { isObject, issuers, ok, parseJson, SKIP_NO_ISSUER, type Result } from './shared.js';

/** Where to ask: the client base URL when it works, else matrix.endpoint, and how it was chosen. */
async function whereToAsk(ctx: DoctorContext): Promise<{ base: string; from: string; onEndpoint: boolean }> {
  const d = await ctx.clientDiscovery();
  if (d.base?.usable === true) return { base: d.base.url, from: baseSource(d), onEndpoint: false };
  return { base: ctx.endpoint, from: 'matrix.endpoint, as the client base URL is unknown', onEndpoint: true };
}

const SYNAPSE_DISCOVERY = [
  { name: 'auth_metadata', path: '/_matrix/client/v1/auth_metadata', stable: true },
  { name: 'msc2965/auth_metadata', path: '/_matrix/client/unstable/org.matrix.msc2965/auth_metadata', stable: false },
  { name: 'msc2965/auth_issuer', path: '/_matrix/client/unstable/org.matrix.msc2965/auth_issuer', stable: false },
] as const;

type DiscoveryVerdict = 'ok' | 'mismatch' | 'missing' | 'invalid' | 'unreachable';

/**
 * Synapse's discovery endpoints, on the URL clients use: each must give MAS's issuer, byte for byte.
 * All three exist only with matrix_authentication_service enabled (404 M_UNRECOGNIZED otherwise);
 * the stable one since Synapse 1.138, the unstable ones since 1.123 (older clients use them).
 */
async function synapseAuthMetadata(ctx: DoctorContext): Promise<Result> {
  const iss = issuers(ctx);
  if (iss === undefined) return SKIP_NO_ISSUER;
  const where = await whereToAsk(ctx);
  const base = where.base;
  const probes = await Promise.all(
    SYNAPSE_DISCOVERY.map(async (p) => {
      const url = joinUrl(base, p.path);
      const r = await ctx.http.fetch(url);
      const row: { name: string; url: string; stable: boolean; verdict: DiscoveryVerdict; status?: number; failure?: string; message?: string; issuer?: string } = {
        name: p.name,
        url,
        stable: p.stable,
        verdict: 'ok',
      };
      if (isFailure(r)) return { ...row, verdict: 'unreachable' as const, failure: r.failure, message: r.message };
      row.status = r.status;
      if (r.status === 404) return { ...row, verdict: 'missing' as const };
      const doc = parseJson(r.body);
      if (!ok(r) || !isObject(doc) || typeof doc.issuer !== 'string') return { ...row, verdict: 'invalid' as const };
      return { ...row, issuer: doc.issuer, verdict: doc.issuer === iss.expected ? ('ok' as const) : ('mismatch' as const) };
    }),
  );
  const details = { base, baseFrom: where.from, expected: iss.expected, endpoints: probes };
  const mismatches = probes.filter((p) => p.verdict === 'mismatch');
  if (mismatches.length > 0) {
    return {
      status: 'fail',
      message: `Synapse gives another issuer than MAS's "${iss.expected}": ${mismatches.map((p) => `${p.name} says "${p.issuer}"`).join(', ')} (on ${base}, ${where.from}). Clients compare them byte for byte (trailing slash included) and refuse to log in.`,
      fix: `Synapse passes on the discovery document of the MAS at matrix_authentication_service.endpoint (cached): point it at this MAS and restart Synapse. With the legacy experimental_features.msc3861, its issuer must be exactly "${iss.expected}"; better, move to matrix_authentication_service.`,
      docs: DOCS.homeserver,
      details,
    };
  }
  const broken = probes.filter((p) => p.verdict === 'unreachable' || p.verdict === 'invalid');
  if (broken.length > 0) {
    return {
      status: 'fail',
      message: `Synapse's discovery endpoints do not answer properly: ${broken.map((p) => `${p.url} ${p.verdict === 'unreachable' ? `could not be reached (${p.message})` : `answered ${p.status} without an issuer`}`).join('; ')}.`,
      fix: 'Route /_matrix on the public host to Synapse, and check that Synapse can reach MAS at matrix_authentication_service.endpoint.',
      docs: DOCS.homeserver,
      details,
    };
  }
  const missing = probes.filter((p) => p.verdict === 'missing');
  if (missing.length === probes.length) {
    return {
      status: 'fail',
      message: `Synapse's discovery endpoints are not there (404 on ${base}, ${where.from}): the MAS integration is not enabled in homeserver.yaml, or /_matrix/client is not routed to Synapse. Clients cannot find MAS.`,
      fix: 'In homeserver.yaml set matrix_authentication_service: {enabled: true, endpoint: <MAS URL>, secret: <the MAS matrix.secret>} (Synapse 1.136 or later), and route /_matrix on the public host to Synapse.',
      docs: DOCS.homeserver,
      details,
    };
  }
  if (missing.length > 0) {
    const stableMissing = missing.some((p) => p.stable);
    return {
      status: 'warn',
      message: stableMissing
        ? `Synapse does not serve ${missing.map((p) => p.url).join(', ')} (404), only the unstable endpoints: Synapse is older than 1.138, or that path is not routed to it. Current clients use the stable endpoint.`
        : `Synapse does not serve ${missing.map((p) => p.url).join(', ')} (404), though the stable auth_metadata works: older clients use them.`,
      fix: stableMissing ? 'Upgrade Synapse to 1.138 or later, and route /_matrix on the public host to Synapse.' : 'Route all of /_matrix/client on the public host to Synapse.',
      docs: DOCS.homeserver,
      details,
    };
  }
  const on = where.onEndpoint ? `${base} (${where.from}: Synapse's own answer, not what clients reach through the proxy)` : `${base} (${where.from})`;
  return { status: 'pass', message: `Synapse's discovery endpoints on ${on} all give MAS's issuer ${iss.expected}.`, details };
}

export const synapseAuthMetadataChecks: DoctorCheck[] = [{ id: 'discovery.synapse_auth_metadata', family: 'discovery', run: (ctx) => synapseAuthMetadata(ctx) }];
