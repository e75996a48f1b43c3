// "Did you mean" for the admin API backend. The API can only search usernames by substring
// (filter[search], MAS 1.3 and later), so the backend gathers candidates with ever shorter prefixes
// of the name and ranks them here by edit distance.

/** Levenshtein distance (insertions, deletions, substitutions), by UTF-16 code unit. */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The prefixes to search with, longest first, each about a quarter shorter than the one before. */
export function searchPrefixes(name: string, minLength = 2): string[] {
  const out: string[] = [];
  const floor = Math.min(minLength, name.length);
  for (let n = name.length; n >= floor && n > 0; n = Math.min(n - 1, Math.ceil(n * 0.75))) out.push(name.slice(0, n));
  return out;
}

/** The `limit` candidates closest to `name` (case-insensitively), closest first, then by name. */
export function rankBySimilarity(name: string, candidates: Iterable<string>, limit: number): string[] {
  const target = name.toLowerCase();
  return [...new Set(candidates)]
    .filter((c) => c !== name)
    .map((c) => ({ c, d: levenshtein(target, c.toLowerCase()) }))
    .sort((x, y) => x.d - y.d || (x.c < y.c ? -1 : x.c > y.c ? 1 : 0))
    .slice(0, Math.max(0, limit))
    .map((x) => x.c);
}
