// The certificates of the HTTPS origins doctor talks to: a TLS connection of its own to each (so that
// the certificate is reported even when it is not trusted), the chain checked against the system CAs
// plus the --ca-file CAs, the host name checked against the certificate, and its expiry.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity, connect, rootCertificates, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';
import type { CheckStatus, DoctorCheck, DoctorContext } from '../check.js';

const TLS_DOCS = 'https://element-hq.github.io/matrix-authentication-service/setup/reverse-proxy.html';
/** A certificate that expires sooner than this is a warning. */
export const EXPIRY_WARNING_DAYS = 14;
const DAY_MS = 24 * 60 * 60 * 1000;

type OriginStatus = CheckStatus;

interface OriginReport {
  origin: string;
  /** What doctor uses the origin for: issuer, matrix.endpoint... */
  for: string[];
  status: OriginStatus;
  /** What is wrong (or why it was not checked); absent when it passes. */
  problem?: string;
  subject?: string;
  issuer?: string;
  subjectAltName?: string;
  notAfter?: string;
  daysLeft?: number;
}

/** The origins doctor talks to, each with what it is used for, in a stable order. */
async function originsOf(ctx: DoctorContext): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const add = (url: string | undefined, role: string): void => {
    if (url === undefined || !URL.canParse(url)) return;
    const origin = new URL(url).origin;
    if (origin === 'null') return;
    out.set(origin, [...(out.get(origin) ?? []), role]);
  };
  add(ctx.issuer, 'issuer');
  add(ctx.mas.http.publicBase, 'http.public_base');
  add(ctx.endpoint, 'matrix.endpoint');
  // The same URLs as the well-known and routing checks use: the shared discovery's.
  const d = await ctx.clientDiscovery();
  add(d.wellKnown.url, 'client well-known');
  if (d.wellKnown.baseUrl !== undefined) add(d.wellKnown.baseUrl, 'm.homeserver.base_url');
  if (d.base?.from === '--base-url') add(d.base.url, '--base-url');
  return out;
}

function dn(name: PeerCertificate['subject'] | undefined): string | undefined {
  if (name === undefined || name === null) return undefined;
  const parts = Object.entries(name).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

const UNKNOWN_CA = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']);

/** A sentence for an OpenSSL verification code. */
function chainProblem(code: string, notAfter: Date | undefined): string {
  if (code === 'DEPTH_ZERO_SELF_SIGNED_CERT') return 'the certificate is self-signed';
  if (UNKNOWN_CA.has(code)) return `the certificate is issued by an unknown CA, or the server does not send the intermediate certificates (${code})`;
  if (code === 'CERT_HAS_EXPIRED') return `the certificate expired${notAfter !== undefined ? ` on ${notAfter.toISOString()}` : ''}`;
  if (code === 'CERT_NOT_YET_VALID') return 'the certificate is not valid yet (or this machine\'s clock is wrong)';
  return `the certificate chain does not verify (${code})`;
}

function probe(url: URL, ca: string[] | undefined, timeoutMs: number): Promise<Omit<OriginReport, 'for'>> {
  const origin = url.origin;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 443 : Number(url.port);
  return new Promise((resolve) => {
    let settled = false;
    const socket = connect({
      host,
      port,
      // SNI takes a host name, never an IP address (RFC 6066).
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...(ca !== undefined ? { ca } : {}),
      // Verified below, so that an untrusted certificate can still be described.
      rejectUnauthorized: false,
    });
    const finish = (report: Omit<OriginReport, 'for'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(report);
    };
    const timer = setTimeout(() => finish({ origin, status: 'warn', problem: `could not be checked: no TLS handshake within ${timeoutMs / 1000} s` }), timeoutMs);
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate(true) as DetailedPeerCertificate;
      if (cert === null || Object.keys(cert).length === 0) {
        finish({ origin, status: 'fail', problem: 'the server sent no certificate' });
        return;
      }
      const notAfter = new Date(cert.valid_to);
      const valid = !Number.isNaN(notAfter.getTime());
      const daysLeft = valid ? Math.floor((notAfter.getTime() - Date.now()) / DAY_MS) : undefined;
      const report: Omit<OriginReport, 'for'> = { origin, status: 'pass' };
      const subject = dn(cert.subject);
      if (subject !== undefined) report.subject = subject;
      const issuer = dn(cert.issuer);
      if (issuer !== undefined) report.issuer = issuer;
      if (cert.subjectaltname !== undefined) report.subjectAltName = cert.subjectaltname;
      if (valid) report.notAfter = notAfter.toISOString();
      if (daysLeft !== undefined) report.daysLeft = daysLeft;

      const problems: string[] = [];
      const expired = valid && notAfter.getTime() <= Date.now();
      const code = socket.authorized ? undefined : String((socket.authorizationError as unknown as { code?: string } | undefined)?.code ?? socket.authorizationError ?? 'unknown error');
      if (code !== undefined && !(code === 'CERT_HAS_EXPIRED' && expired)) problems.push(chainProblem(code, valid ? notAfter : undefined));
      if (expired) problems.push(chainProblem('CERT_HAS_EXPIRED', notAfter));
      const hostError = checkServerIdentity(host, cert);
      if (hostError !== undefined) {
        problems.push(`the certificate is not valid for ${host} (${cert.subjectaltname !== undefined && cert.subjectaltname !== '' ? `it names ${cert.subjectaltname}` : 'it has no subjectAltName'})`);
      }
      if (problems.length > 0) {
        report.status = 'fail';
        report.problem = problems.join('; ');
      } else if (daysLeft !== undefined && notAfter.getTime() - Date.now() < EXPIRY_WARNING_DAYS * DAY_MS) {
        report.status = 'warn';
        report.problem = `the certificate expires in ${daysLeft} day${daysLeft === 1 ? '' : 's'}, on ${notAfter.toISOString()}`;
      }
      finish(report);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? '';
      if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ECONNRESET' || code === 'ETIMEDOUT') {
        // Not a certificate problem; the check that talks to this origin reports it.
        finish({ origin, status: 'warn', problem: `could not be checked: ${code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'the host name does not resolve' : code === 'ECONNREFUSED' ? 'connection refused' : error.message}` });
      } else {
        finish({ origin, status: 'fail', problem: `the TLS handshake failed (${error.message})` });
      }
    });
  });
}

const RANK: Record<OriginStatus, number> = { skip: 0, pass: 1, warn: 2, fail: 3 };

/**
 * The TLS checks, trusting the CAs of `caFile` (the --ca-file of doctor) besides the system ones.
 * doctor's HTTP client trusts the same file; the file is read again here, when the check runs.
 */
export function tlsChecksWith(caFile?: string): DoctorCheck[] {
  return [
    {
      id: 'tls.certificates',
      family: 'tls',
      async run(ctx) {
        let ca: string[] | undefined;
        if (caFile !== undefined) {
          try {
            // `ca` replaces the default trust store: keep the public roots next to the private CA.
            ca = [...rootCertificates, readFileSync(caFile, 'utf8')];
          } catch (error) {
            return { status: 'fail', message: `Cannot read the CA file ${caFile} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`, fix: 'Pass a readable PEM file with --ca-file.' };
          }
        }
        const origins = await originsOf(ctx);
        const reports: OriginReport[] = await Promise.all(
          [...origins].map(async ([origin, roles]): Promise<OriginReport> => {
            const url = new URL(origin);
            if (url.protocol !== 'https:') return { origin, for: roles, status: 'skip', problem: 'not HTTPS' };
            const { origin: _, ...found } = await probe(url, ca, ctx.timeoutMs);
            return { origin, for: roles, ...found };
          }),
        );
        const details = { caFile: caFile ?? null, origins: reports };
        const checked = reports.filter((r) => r.status !== 'skip');
        if (checked.length === 0) {
          return { status: 'skip', message: `Skipped: doctor talks to no HTTPS origin (${reports.map((r) => r.origin).join(', ') || 'none'}).`, details };
        }
        const worst = checked.reduce<OriginStatus>((w, r) => (RANK[r.status] > RANK[w] ? r.status : w), 'pass');
        const label = (r: OriginReport): string => `${r.origin} (${r.for.join(', ')})`;
        if (worst === 'pass') {
          const soonest = checked.reduce((a, b) => ((a.daysLeft ?? Infinity) <= (b.daysLeft ?? Infinity) ? a : b));
          return {
            status: 'pass',
            message:
              checked.length > 1
                ? `The certificates of ${checked.map(label).join(', ')} are valid; the first to expire, ${soonest.origin}'s, expires in ${soonest.daysLeft ?? '?'} days.`
                : `The certificate of ${label(soonest)} is valid and expires in ${soonest.daysLeft ?? '?'} days.`,
            details,
          };
        }
        const bad = checked.filter((r) => r.status !== 'pass');
        const message = bad.map((r) => `${label(r)}: ${r.problem ?? r.status}`).join('; ');
        const fixes: string[] = [];
        if (bad.some((r) => /self-signed|unknown CA/.test(r.problem ?? ''))) {
          fixes.push(
            caFile === undefined
              ? 'If the certificate comes from a private CA, run doctor with --ca-file <the CA PEM>; otherwise use a certificate from a public CA (e.g. Let\'s Encrypt), and serve the full chain (leaf and intermediates).'
              : `The certificate is not issued by the CAs of ${caFile} nor by a public CA: serve a certificate from one of them, with the full chain (leaf and intermediates).`,
          );
        }
        if (bad.some((r) => /expire/.test(r.problem ?? ''))) fixes.push('Renew the certificate (and check that automatic renewal, e.g. certbot or your ACME client, runs and reloads the server).');
        if (bad.some((r) => /not valid for/.test(r.problem ?? ''))) fixes.push('Serve a certificate whose subjectAltName lists the host name clients use.');
        if (bad.some((r) => /could not be checked/.test(r.problem ?? ''))) fixes.push('An origin that cannot be reached is reported by the check that uses it.');
        return {
          status: worst,
          message: `${worst === 'fail' ? 'TLS problem' : 'TLS warning'}: ${message}.`,
          ...(fixes.length > 0 ? { fix: fixes.join(' ') } : {}),
          docs: TLS_DOCS,
          details,
        };
      },
    },
  ];
}

/** The TLS checks with the system CAs only; the CLI uses tlsChecksWith(--ca-file). */
export const tlsChecks: DoctorCheck[] = tlsChecksWith();
