// The two questions manage asks Synapse directly, through its MAS-only API (/_synapse/mas/*, behind
// the shared secret matrix.secret): is this localpart free, and create this device. Everything else
// reaches Synapse through jobs the MAS worker runs. Answers are data; the command decides.
import type { HttpClient, HttpFailure, HttpResult } from '../http/client.js';
import type { Secret } from '../secret.js';

// The same test as http/client's isFailure, kept here so that every manage command (they all load
// this module) does not load the HTTP stack just for it; the database path may never make a request.
const isFailure = (r: HttpResult): r is HttpFailure => 'failure' in r;

export interface HomeserverApi {
  /** matrix.endpoint */
  endpoint: string;
  secret: Secret;
  http: HttpClient;
}

export type LocalpartAnswer =
  | { kind: 'available' }
  /** Synapse answered and said no: M_USER_IN_USE, M_EXCLUSIVE (an appservice namespace), M_INVALID_USERNAME. */
  | { kind: 'unavailable'; errcode: string; error: string }
  /** Synapse could not be asked: not reachable, or it refused the question (secret, integration off). */
  | { kind: 'unreachable'; message: string };

function url(endpoint: string, path: string): string {
  return new URL(path.replace(/^\//, ''), endpoint.endsWith('/') ? endpoint : `${endpoint}/`).toString();
}

function matrixError(body: string): { errcode?: string; error?: string } {
  try {
    const parsed = JSON.parse(body) as { errcode?: unknown; error?: unknown };
    return {
      ...(typeof parsed.errcode === 'string' ? { errcode: parsed.errcode } : {}),
      ...(typeof parsed.error === 'string' ? { error: parsed.error } : {}),
    };
  } catch {
    return {};
  }
}

/** Why a /_synapse/mas call was refused, in words an operator can act on. */
function refusal(status: number, target: string, body: string): string {
  const e = matrixError(body);
  if (status === 403 || status === 401) {
    return `${target} refused the shared secret (${status}): matrix.secret in the MAS config differs from matrix_authentication_service.secret in homeserver.yaml`;
  }
  if (status === 404) {
    return `${target} answered 404: the MAS integration is not enabled in Synapse (matrix_authentication_service.enabled), or matrix.endpoint does not reach Synapse`;
  }
  return `${target} answered ${status}${e.errcode !== undefined ? ` ${e.errcode}` : ''}${e.error !== undefined ? `: ${e.error}` : ''}`;
}

export async function isLocalpartAvailable(hs: HomeserverApi, localpart: string): Promise<LocalpartAnswer> {
  const target = url(hs.endpoint, `/_synapse/mas/is_localpart_available?localpart=${encodeURIComponent(localpart)}`);
  const r = await hs.http.fetch(target, { authorization: `Bearer ${hs.secret.reveal()}` });
  if (isFailure(r)) return { kind: 'unreachable', message: `${target}: ${r.message}` };
  if (r.status === 200) return { kind: 'available' };
  const e = matrixError(r.body);
  if (r.status === 400 && e.errcode !== undefined && e.errcode !== 'M_MISSING_PARAM') {
    return { kind: 'unavailable', errcode: e.errcode, error: e.error ?? e.errcode };
  }
  return { kind: 'unreachable', message: refusal(r.status, target, r.body) };
}

/** Creates (or keeps) a device on Synapse; undefined on success, else why not. */
export async function upsertDevice(hs: HomeserverApi, localpart: string, deviceId: string): Promise<string | undefined> {
  const target = url(hs.endpoint, '/_synapse/mas/upsert_device');
  const r = await hs.http.fetch(target, {
    method: 'POST',
    authorization: `Bearer ${hs.secret.reveal()}`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ localpart, device_id: deviceId }),
  });
  if (isFailure(r)) return `${target}: ${r.message}`;
  if (r.status === 200 || r.status === 201) return undefined;
  return refusal(r.status, target, r.body);
}

/** What an `unavailable` answer means for the operator. */
export function explainUnavailable(localpart: string, answer: { errcode: string; error: string }): { message: string; hint: string } {
  switch (answer.errcode) {
    case 'M_EXCLUSIVE':
      return {
        message: `${localpart} is in the exclusive namespace of an application service (a bridge or bot) on the homeserver`,
        hint: "Application-service users live only in Synapse: manage them through Synapse's admin API or the bridge, not MAS.",
      };
    case 'M_USER_IN_USE':
      return {
        message: `${localpart} already exists on the homeserver but not in MAS`,
        hint: 'If that Synapse account should get a MAS login, adopt it: register-user with --skip-homeserver-check.',
      };
    case 'M_INVALID_USERNAME':
      return { message: `the homeserver says ${localpart} is not a valid username (${answer.error})`, hint: 'Choose a localpart of a-z, 0-9 and = _ - . / +.' };
    default:
      return { message: `the homeserver refused ${localpart}: ${answer.errcode} ${answer.error}`, hint: 'See what Synapse says above.' };
  }
}
