// Sorted streaming of both sides with COPY, key comparison in PostgreSQL "C" order, the merge join and row pairing.
import type pg from 'pg';
import pgCopy from 'pg-copy-streams';
import { CopyRowParser, type CopyValue } from '../../db/copy.js';
import { MasToolError } from '../../errors.js';

export type Key = ReadonlyArray<CopyValue>;
export interface Keyed<T> {
  key: Key;
  value: T;
}

/** Code point order, which is PostgreSQL's "C" collation on UTF-8 text (UTF-16 order is not). */
export function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}
// Surrogates (U+D800-DFFF, i.e. code points above U+FFFF) rank above U+E000-FFFF.
const codePointRank = (c: number): number => (c < 0xd800 ? c : c >= 0xe000 ? c - 0x800 : c + 0x2000);

/** Keys compare field by field, NULL first (as NULLS FIRST sorts them). */
export function compareKeys(a: Key, b: Key): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    const c = compareText(x, y);
    if (c !== 0) return c;
  }
  return 0;
}

/** Wraps a query whose first `keys` columns are named k1..kN so that it comes out in key order. */
export function sortedBy(select: string, keys: number): string {
  const order = Array.from({ length: keys }, (_, i) => `v.k${i + 1} COLLATE "C" NULLS FIRST`).join(', ');
  return `SELECT * FROM (${select}) v ORDER BY ${order}`;
}

/**
 * Streams `sql` (already sorted, keys first) with COPY, mapping the fields after the key. `map` may
 * return undefined to drop a row. Checks the order as it goes.
 */
export async function* streamSorted<T>(
  client: pg.Client,
  label: string,
  sql: string,
  keys: number,
  map: (fields: CopyValue[], key: Key) => T | undefined,
): AsyncGenerator<Keyed<T>, void, undefined> {
  const copy = client.query(pgCopy.to(`COPY (${sql}) TO STDOUT`));
  const parser = new CopyRowParser();
  copy.on('error', (error: Error) => parser.destroy(error));
  copy.pipe(parser);
  let previous: Key | undefined;
  let finished = false;
  try {
    for await (const batch of parser as AsyncIterable<CopyValue[][]>) {
      for (const row of batch) {
        const key = row.slice(0, keys);
        if (previous !== undefined && compareKeys(previous, key) > 0) {
          throw new MasToolError('MAS_TOOL_VERIFY_ORDER', `The ${label} rows did not come sorted as verify compares them; the comparison was stopped.`, {
            hint: 'This is a bug in mas-tool (or an unusual database collation); please report it.',
          });
        }
        previous = key;
        const value = map(row.slice(keys), key);
        if (value !== undefined) yield { key, value };
      }
    }
    finished = true;
  } finally {
    // Stopped early (an error elsewhere): the connection is closed by the caller anyway.
    if (!finished) parser.destroy();
  }
}

/** Merges two key-sorted streams, calling `onKey` once per key with the rows of each side. */
export async function mergeJoin<E, F>(
  expected: AsyncGenerator<Keyed<E>, void, undefined>,
  found: AsyncGenerator<Keyed<F>, void, undefined>,
  onKey: (key: Key, expected: E[], found: F[]) => void,
): Promise<void> {
  try {
    let e = await expected.next();
    let f = await found.next();
    while (!e.done || !f.done) {
      let key: Key;
      if (e.done) key = (f as IteratorYieldResult<Keyed<F>>).value.key;
      else if (f.done) key = e.value.key;
      else key = compareKeys(e.value.key, f.value.key) <= 0 ? e.value.key : f.value.key;
      const es: E[] = [];
      while (!e.done && compareKeys(e.value.key, key) === 0) {
        es.push(e.value.value);
        e = await expected.next();
      }
      const fs: F[] = [];
      while (!f.done && compareKeys(f.value.key, key) === 0) {
        fs.push(f.value.value);
        f = await found.next();
      }
      onKey(key, es, fs);
    }
  } finally {
    await expected.return(undefined).catch(() => undefined);
    await found.return(undefined).catch(() => undefined);
  }
}

/** Pairs the rows of one key (several only where the key is not unique), oldest MAS row first. */
export function pairUp<E, F extends { createdAt: number }>(es: E[], fs: F[], onPair: (e: E, f: F) => void, onMissing: (e: E) => void, onExtra: (f: F) => void): void {
  const sorted = fs.length > 1 ? [...fs].sort((a, b) => a.createdAt - b.createdAt) : fs;
  const n = Math.min(es.length, sorted.length);
  for (let i = 0; i < n; i++) onPair(es[i] as E, sorted[i] as F);
  for (let i = n; i < es.length; i++) onMissing(es[i] as E);
  for (let i = n; i < sorted.length; i++) onExtra(sorted[i] as F);
}
