// Deterministic pseudo-randomness for the generator: in JavaScript (letter tables) and as SQL
// expressions over a row key (hashint8extended with a per-purpose seed), so the same seed gives the
// same data.

// Letter tables: WINDOWS start positions, each followed by 9 more letters; every 10-letter window is
// distinct. One parameter ($1) holds the mixed-case table, then the upper-case one.
const WINDOWS = 65536;
const TABLE_BYTES = WINDOWS + 9;
const MIXED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;
export const arr = (items: readonly string[]): string => `ARRAY[${items.map(lit).join(', ')}]::text[]`;
/** One element of a literal array, chosen by a non-negative bigint expression. */
export const pickFrom = (items: readonly string[], h: string): string => `(${arr(items)})[((${h}) % ${items.length} + 1)::int]`;
const hexBytea = (s: string): string => `'\\x${Buffer.from(s, 'latin1').toString('hex')}'::bytea`;

/** FNV-1a, 32 bits. */
function fnv1a(text: string): number {
  let x = 0x811c9dc5;
  for (let k = 0; k < text.length; k++) {
    x ^= text.charCodeAt(k);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x;
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The mixed-case letter table, then the upper-case one: the $1 parameter of the statements that use window(). */
export function letterTables(seed: number): Buffer {
  return Buffer.concat([letterTable(MIXED, seed), letterTable(UPPER, seed)]);
}

/** A table of random letters whose 10-letter windows at 0..WINDOWS-1 are all distinct. */
function letterTable(alphabet: string, seed: number): Buffer {
  for (let attempt = 0; ; attempt++) {
    const next = prng(fnv1a(`${alphabet}/${seed}/${attempt}`));
    const table = Buffer.alloc(TABLE_BYTES);
    for (let k = 0; k < TABLE_BYTES; k++) table[k] = alphabet.charCodeAt(Math.floor(next() * alphabet.length));
    const seen = new Set<string>();
    let distinct = true;
    for (let o = 0; o < WINDOWS && distinct; o++) {
      const w = table.toString('latin1', o, o + 10);
      distinct = !seen.has(w);
      seen.add(w);
    }
    if (distinct) return table;
  }
}

export type SqlHelpers = ReturnType<typeof sqlHelpers>;

/** SQL builders that depend on the seed. */
export function sqlHelpers(seed: number) {
  /** A seed for hashint8extended: 48 bits from the purpose and the generator seed. */
  const saltOf = (salt: string): string => String(fnv1a(`${salt}/${seed}`) * 65536 + (fnv1a(`${seed}\\${salt}`) & 0xffff));
  /** A pseudo-random bigint in [0, 2^32) from a key (an integer expression) and a purpose. */
  const h = (key: string, salt: string): string => `(hashint8extended((${key})::bigint, ${saltOf(salt)}) & 4294967295)`;
  /** A pseudo-random float8 in [0, 1). */
  const u = (key: string, salt: string): string => `(${h(key, salt)}::float8 / 4294967296.0)`;
  /** 32 random bytes. */
  const bytes32 = (key: string, salt: string): string => `sha256(int8send((${key})::bigint) || int8send(${saltOf(salt)}::bigint))`;
  /** 64 random bytes. */
  const bytes64 = (key: string, salt: string): string => `sha512(int8send((${key})::bigint) || int8send(${saltOf(salt)}::bigint))`;
  /** `len` letters from window `offset` (any bigint; reduced mod WINDOWS) of the mixed or upper-case table. */
  const window = (table: 'mixed' | 'upper', offset: string, len: number): string =>
    `substr($1::bytea, (((${offset}) & ${WINDOWS - 1}) + ${table === 'mixed' ? 1 : TABLE_BYTES + 1})::int, ${len})`;
  /**
   * 20 letters from a unique id below 2^32 (a plain column: it is used three times). Two windows
   * chosen by a bijection of the id's halves, so different ids give different letters.
   */
  const letters20 = (id: string, salt: string): string => {
    const s1 = fnv1a(`${salt}/1/${seed}`) & 0xffff;
    const s2 = fnv1a(`${salt}/2/${seed}`) & 0xffff;
    const a = `((${id}) & 65535)`;
    const b = `(((${id}) >> 16) & 65535)`;
    return `convert_from(${window('mixed', `${a} * 40503 + ${s1}`, 10)} || ${window('mixed', `(${b} + ${a} * 7) * 40503 + ${s2}`, 10)}, 'UTF8')`;
  };
  /** Synapse's device id, [A-Z]{10}, distinct for d = 1..WINDOWS of the same user key. */
  const deviceId = (userKey: string, d: string): string => `convert_from(${window('upper', `${h(userKey, 'device-id')} + (${d}) * 40503`, 10)}, 'UTF8')`;
  return { h, u, bytes32, bytes64, window, letters20, deviceId };
}

/** Six base62 digits (0-9A-Za-z) of a non-negative bigint below 62^6, as Synapse writes token checksums. */
export function base62(c: string): string {
  let bytes = `'\\x303030303030'::bytea`;
  for (let k = 0; k < 6; k++) bytes = `set_byte(${bytes}, ${k}, get_byte(${hexBytea(BASE62)}, ((${c}) / ${62 ** (5 - k)} % 62)::int))`;
  return `convert_from(${bytes}, 'UTF8')`;
}
