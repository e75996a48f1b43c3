// The errors of the admin API backend. Each says what mas-tool was doing ("locking user alice"), what
// MAS answered (the status and its error titles) and, where we know it, how to fix it. Any text that
// came from outside (MAS's titles, a transport error) goes through scrubSecrets before it is put in
// a message: none of these may quote the client secret, a token or a password.
import { MasToolError } from '../../errors.js';
import { ADMIN_API_DOCS, ENABLE_ADMIN_API_YAML } from '../../http/openid.js';
import { scrubSecrets } from '../../secret.js';
import type { MasUser } from '../model.js';

/** A request the admin API answered with an error status. */
export class AdminApiError extends MasToolError {
  readonly status: number;
  /** MAS's error titles joined with ': ', when the answer had them. */
  readonly titles: string | undefined;

  constructor(code: string, message: string, options: { status: number; titles?: string; hint?: string; details?: Record<string, unknown> }) {
    super(code, message, {
      ...(options.hint !== undefined ? { hint: options.hint } : {}),
      details: { status: options.status, ...(options.titles !== undefined ? { titles: scrubSecrets(options.titles) } : {}), ...options.details },
    });
    this.status = options.status;
    this.titles = options.titles === undefined ? undefined : scrubSecrets(options.titles);
  }
}

/** The code for an error status: scripts match on these, never on the text. */
export function codeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'MAS_TOOL_ADMIN_API_BAD_REQUEST';
    case 401:
      return 'MAS_TOOL_ADMIN_API_UNAUTHORIZED';
    case 403:
      return 'MAS_TOOL_ADMIN_API_FORBIDDEN';
    case 404:
      return 'MAS_TOOL_ADMIN_API_NOT_FOUND';
    case 409:
      return 'MAS_TOOL_ADMIN_API_CONFLICT';
    default:
      return status >= 500 ? 'MAS_TOOL_ADMIN_API_SERVER_ERROR' : 'MAS_TOOL_ADMIN_API_ERROR';
  }
}

/** "MAS refused locking user alice (409: User already exists)." */
export function statusError(action: string, status: number, titles: string | undefined, hint?: string): AdminApiError {
  const what = titles !== undefined ? `MAS refused ${action} (${status}: ${scrubSecrets(titles)}).` : `The MAS admin API answered ${status} while ${action}.`;
  return new AdminApiError(codeForStatus(status), what, { status, ...(titles !== undefined ? { titles } : {}), ...(hint !== undefined ? { hint } : {}) });
}

/** A 401 on a token we had just been given: the admin API does not accept what the issuer gave. */
export function unauthorizedError(action: string, url: string, titles: string | undefined, issuer: string): AdminApiError {
  return new AdminApiError(
    'MAS_TOOL_ADMIN_API_UNAUTHORIZED',
    `The MAS admin API at ${url} refused a fresh admin token while ${action} (401${titles !== undefined ? `: ${scrubSecrets(titles)}` : ''}).`,
    {
      status: 401,
      ...(titles !== undefined ? { titles } : {}),
      hint: `The token came from the issuer ${issuer}; check that it and the admin API URL name the same MAS, and that nothing in between (a reverse proxy) replaces the Authorization header.`,
      details: { url },
    },
  );
}

/** No admin API at all where we look: the listener has no adminapi resource, or nothing routes there. */
export function missingError(base: string, action: string, fromFlag: boolean): AdminApiError {
  const where = fromFlag ? 'the listener at --admin-api-url' : 'the listener serving public_base';
  return new AdminApiError(
    'MAS_TOOL_ADMIN_API_MISSING',
    `There is no MAS admin API at ${base} (404 while ${action}): the adminapi resource is not enabled on ${where}, or a reverse proxy does not route ${new URL(base).pathname} to MAS.`,
    {
      status: 404,
      hint: `Add the adminapi resource to ${where}, restart MAS, and route ${base} to it${fromFlag ? '' : ' (or point --admin-api-url at a listener that has it)'}:\n${ENABLE_ADMIN_API_YAML}\nOr use --via db. See ${ADMIN_API_DOCS}`,
      details: { url: base },
    },
  );
}

/** The admin API answers, but not this route: MAS is older than the release that added it. */
export function unsupportedError(action: string, method: string, path: string, since: string | undefined): AdminApiError {
  return new AdminApiError(
    'MAS_TOOL_ADMIN_API_UNSUPPORTED',
    `This MAS has no admin API route ${method} ${path} (404 while ${action})${since !== undefined ? `: it was added in MAS ${since}` : ''}.`,
    {
      status: 404,
      hint: `Upgrade MAS${since !== undefined ? ` to ${since} or later` : ''}, or use --via db.`,
      details: { method, path, ...(since !== undefined ? { since } : {}) },
    },
  );
}

export function unreachableError(url: string, action: string, phrase: string, failure: string): MasToolError {
  return new MasToolError('MAS_TOOL_ADMIN_API_UNREACHABLE', `Could not reach MAS at ${url} while ${action}: ${scrubSecrets(phrase)}.`, {
    hint: 'Check http.public_base in the MAS config (or --admin-api-url), that MAS is running and reachable from here, and for TLS errors pass the private CA with --ca-file.',
    details: { url, failure },
  });
}

export function unexpectedResponseError(action: string, url: string, what: string): MasToolError {
  return new MasToolError('MAS_TOOL_ADMIN_API_RESPONSE', `The MAS admin API at ${url} answered ${scrubSecrets(what)} while ${action}; that is not what MAS answers.`, {
    hint: 'Check that the admin API URL reaches MAS and not another service (a proxy error page, say).',
    details: { url },
  });
}

/**
 * createUsers failed after writing something: the API has no transaction to roll back, so say what
 * exists now (the users made before, and the one left half made) and which step failed.
 */
export function incompleteError(error: unknown, step: string, partial: MasUser | undefined, complete: readonly MasUser[], total: number): MasToolError {
  const cause = error instanceof MasToolError ? error : undefined;
  const why = error instanceof Error ? error.message : String(error);
  const parts = [why];
  if (partial !== undefined) parts.push(`User ${partial.username} (${partial.id}) was created in MAS, but ${step} failed, so it is incomplete.`);
  if (complete.length > 0) parts.push(`Created before it: ${complete.map((u) => u.username).join(', ')}.`);
  const left = total - complete.length - (partial !== undefined ? 1 : 0);
  if (left > 0) parts.push(`${left} more user${left === 1 ? ' was' : 's were'} not created.`);
  return new MasToolError('MAS_TOOL_ADMIN_API_INCOMPLETE', parts.join(' '), {
    cause: error,
    hint:
      partial !== undefined
        ? `The admin API cannot undo the creation: finish ${partial.username} by hand (set-password, add-email, link-upstream, set-admin) once the cause is fixed, or deactivate it; then run the command again for the users not created.${cause?.hint !== undefined ? ` ${cause.hint}` : ''}`
        : `Run the command again for the users not created once the cause is fixed.${cause?.hint !== undefined ? ` ${cause.hint}` : ''}`,
    details: {
      failedStep: step,
      ...(partial !== undefined ? { createdUser: { id: partial.id, username: partial.username } } : {}),
      completedUsers: complete.map((u) => ({ id: u.id, username: u.username })),
      ...(cause !== undefined ? { causeCode: cause.code, causeDetails: cause.details } : {}),
    },
  });
}
