// Whether a base URL is a Matrix homeserver, judged the way clients judge it: GET
// <base>/_matrix/client/versions must answer 2xx with a JSON object whose `versions` is a list
// (the spec's validation step; matrix-js-sdk's AutoDiscovery checks exactly that). Any 2xx is not
// enough: a web server's default page ("Welcome to nginx!") answers 2xx to every path, and every
// later check would then read its HTML as if Synapse had said it.
import { isFailure, type HttpClient, type HttpFailureKind } from '../http/client.js';
import { joinUrl } from '../http/url.js';

export interface VersionsProbe {
  /** The URL asked. */
  url: string;
  /** A Matrix client API answered: 2xx, a JSON object, a `versions` list. */
  matrix: boolean;
  status?: number;
  /** The media type of the answer, without parameters. */
  contentType?: string;
  failure?: HttpFailureKind;
  /** The spec versions listed, when `matrix`. */
  versions?: string[];
  /** Whether one of them is v1.1 or later, which Element's SDK requires (r0 alone is refused). */
  supportedByElement?: boolean;
  /** What is wrong, one phrase that reads after the URL ("answered 502"), when not `matrix`. */
  problem?: string;
}

function mediaType(header: string | undefined): string | undefined {
  const type = header?.split(';')[0]?.trim().toLowerCase();
  return type === undefined || type === '' ? undefined : type;
}

export async function probeVersions(http: HttpClient, base: string): Promise<VersionsProbe> {
  const url = joinUrl(base, '/_matrix/client/versions');
  const r = await http.fetch(url);
  if (isFailure(r)) return { url, matrix: false, failure: r.failure, problem: `could not be reached (${r.message})` };
  const contentType = mediaType(r.headers['content-type']);
  const seen = { url, status: r.status, ...(contentType !== undefined ? { contentType } : {}) };
  if (r.status < 200 || r.status > 299) return { ...seen, matrix: false, problem: `answered ${r.status}${contentType !== undefined && contentType !== 'application/json' ? ` (${contentType})` : ''}` };
  let doc: unknown;
  try {
    doc = JSON.parse(r.body);
  } catch {
    return { ...seen, matrix: false, problem: `answered ${r.status}, but this is not a Matrix homeserver: got ${contentType ?? 'a body without a content type'}` };
  }
  const versions = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as { versions?: unknown }).versions : undefined;
  if (!Array.isArray(versions)) {
    return { ...seen, matrix: false, problem: `answered ${r.status}, but this is not a Matrix homeserver: got JSON without a "versions" list` };
  }
  const listed = versions.filter((v): v is string => typeof v === 'string');
  return { ...seen, matrix: true, versions: listed, supportedByElement: listed.some((v) => /^v1\.[1-9]\d*$/.test(v)) };
}

/** "v1.1 to v1.12", for messages. */
export function versionRange(versions: readonly string[]): string {
  const v1 = versions.filter((v) => /^v\d+\.\d+$/.test(v));
  const list = v1.length > 0 ? v1 : versions;
  if (list.length === 0) return 'no versions';
  return list.length === 1 ? (list[0] ?? '') : `${list[0]} to ${list[list.length - 1]}`;
}
