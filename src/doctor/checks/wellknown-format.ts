// wellknown.format: the client well-known document as clients read it, from the one lookup every
// check shares (src/doctor/client-discovery.ts), so it judges the same URL wellknown.client reports.
//
// A 404 is ignored by clients (skipped here; wellknown.client reports it), but a document that is
// not JSON or has no usable m.homeserver.base_url makes them stop (FAIL_PROMPT), so those fail here,
// where wellknown.client keeps mas-cli's warning. Web clients read it cross-origin, so it needs CORS.
// Whether the base URL answers is discovery.client_base_url's to say.
import { httpUrl } from '../client-discovery.js';
import { DOCS, type DoctorCheck, type DoctorContext } from '../check.js';
import { exampleWellKnown, fixes, isObject, issuers, worst, type Problem, type Result } from './shared.js';

async function wellKnownFormat(ctx: DoctorContext): Promise<Result> {
  const { wellKnown } = await ctx.clientDiscovery();
  const url = wellKnown.url;
  const r = wellKnown.response;
  if (r === undefined || r.status < 200 || r.status > 299) {
    const why = r !== undefined ? `answered ${r.status}` : wellKnown.failure !== undefined ? `could not be reached (${wellKnown.failure.message})` : 'could not be asked';
    return { status: 'skip', message: `Skipped: the client well-known document ${url} ${why} (see wellknown.client).`, docs: DOCS.wellKnown, details: { url } };
  }

  const problems: Problem[] = [];
  const notes: string[] = [];
  const details: Record<string, unknown> = { url };
  const type = r.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    problems.push({
      status: 'warn',
      text: `it is served as ${type === undefined || type === '' ? 'no content type' : type}, not application/json`,
      fix: 'Serve it with "Content-Type: application/json" (nginx: default_type application/json; Caddy: header Content-Type application/json).',
    });
  }
  const cors = r.headers['access-control-allow-origin'];
  if (cors === undefined) {
    problems.push({
      status: 'warn',
      text: 'it has no Access-Control-Allow-Origin header, so web clients (Element Web, ...) cannot read it',
      fix: 'Add "Access-Control-Allow-Origin: *" to it (nginx: add_header Access-Control-Allow-Origin *; Caddy: header Access-Control-Allow-Origin *).',
    });
  } else if (cors !== '*') {
    notes.push(`Access-Control-Allow-Origin is "${cors}", not "*": web clients on other origins cannot read it.`);
  }

  const doc = wellKnown.document;
  const example = exampleWellKnown(ctx.serverName);
  if (!isObject(doc)) {
    problems.push({ status: 'fail', text: 'its body is not a JSON object, so clients that find it stop', fix: `Serve a JSON object such as ${example}.` });
  } else {
    const base = wellKnown.baseUrl;
    if (base === undefined || httpUrl(base) === undefined) {
      problems.push({ status: 'fail', text: 'it has no valid m.homeserver.base_url (an http(s) URL), so clients that find it stop', fix: `Add it: ${example}.` });
    } else {
      details.baseUrl = base;
    }
    const block = doc['org.matrix.msc2965.authentication'];
    if (block !== undefined) {
      const blockIssuer = isObject(block) ? block.issuer : undefined;
      const iss = issuers(ctx);
      details.msc2965Issuer = blockIssuer;
      notes.push('It has an org.matrix.msc2965.authentication block: obsolete, clients now find MAS through /_matrix/client/v1/auth_metadata; it can be removed.');
      if (typeof blockIssuer !== 'string') {
        problems.push({ status: 'warn', text: 'its obsolete org.matrix.msc2965.authentication block has no issuer', fix: 'Remove the org.matrix.msc2965.authentication block.' });
      } else if (iss !== undefined && blockIssuer !== iss.expected) {
        problems.push({
          status: 'warn',
          text: `its obsolete org.matrix.msc2965.authentication block gives the issuer "${blockIssuer}", but MAS's issuer is "${iss.expected}"`,
          fix: `Remove the org.matrix.msc2965.authentication block, or set its issuer to exactly "${iss.expected}".`,
        });
      }
    }
  }
  if (notes.length > 0) details.notes = notes;
  const fix = fixes(problems);
  if (problems.length === 0) {
    const extra = notes.length > 0 ? ` Note: ${notes.join(' ')}` : '';
    return { status: 'pass', message: `The client well-known document at ${url} is JSON, readable by web clients, and names the base URL ${String(details.baseUrl)}.${extra}`, details };
  }
  return { status: worst(problems), message: `The client well-known document at ${url}: ${problems.map((p) => p.text).join('; ')}.`, ...(fix !== undefined ? { fix } : {}), docs: DOCS.wellKnown, details };
}

export const wellKnownFormatChecks: DoctorCheck[] = [{ id: 'wellknown.format', family: 'wellknown', run: (ctx) => wellKnownFormat(ctx) }];
