// URLs built from a configured base: a base URL may carry a path prefix (MAS behind /auth/, Synapse
// behind /matrix/), which the endpoint's path must keep.

/** Joins an absolute path onto a base URL, keeping any path prefix the base has. */
export function joinUrl(base: string, path: string): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  url.search = '';
  return url.toString();
}
