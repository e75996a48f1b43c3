// PostgreSQL COPY text format: field encoding and decoding, the streaming row parser across chunk
// boundaries, and real round trips through a PostgreSQL server (COPY TO into our parser, and
// COPY TO -> map -> COPY FROM between two connections).
import { Readable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyBetween, copyLine, copyOut, CopyRowParser, decodeCopyField, encodeCopyField, type CopyValue } from '../../src/db/copy.js';
import { useTestDatabase } from '../helpers/db.js';

/** Strings that need care in COPY text format. */
const AWKWARD: readonly string[] = [
  '',
  'plain',
  'tab\there',
  'line\nbreak',
  'carriage\rreturn',
  'crlf\r\n',
  'back\\slash',
  '\\',
  '\\\\',
  '\\N',
  'N',
  'trailing backslash\\',
  '\\n is not a newline',
  'café naïve Ærøskøbing',
  'Ελληνικά 日本語 עברית',
  'emoji 😀👩‍👩‍👧 ☕',
  '\t\n\r\\ all at once \\\r\n\t',
  ' leading and trailing spaces ',
  "quote ' and \" and ,;|",
  'form\ffeed vertical\vtab back\bspace',
];

async function parse(chunks: Buffer[]): Promise<CopyValue[][]> {
  const rows: CopyValue[][] = [];
  // The parser emits a batch of rows per chunk.
  for await (const batch of Readable.from(chunks).pipe(new CopyRowParser())) rows.push(...(batch as CopyValue[][]));
  return rows;
}

const bytes = (buf: Buffer): Buffer[] => [...buf].map((b) => Buffer.from([b]));

describe('encodeCopyField', () => {
  it('encodes null and undefined as \\N', () => {
    expect(encodeCopyField(null)).toBe('\\N');
    expect(encodeCopyField(undefined)).toBe('\\N');
  });

  it('encodes booleans as t and f', () => {
    expect(encodeCopyField(true)).toBe('t');
    expect(encodeCopyField(false)).toBe('f');
  });

  it('encodes numbers in decimal', () => {
    expect(encodeCopyField(0)).toBe('0');
    expect(encodeCopyField(42)).toBe('42');
    expect(encodeCopyField(-7)).toBe('-7');
    expect(encodeCopyField(1.5)).toBe('1.5');
    expect(encodeCopyField(1623366000000)).toBe('1623366000000');
  });

  it('leaves ordinary strings alone, including the empty string', () => {
    expect(encodeCopyField('alice')).toBe('alice');
    expect(encodeCopyField('')).toBe('');
    expect(encodeCopyField('café 😀')).toBe('café 😀');
  });

  it('escapes backslash, newline, carriage return and tab', () => {
    expect(encodeCopyField('a\\b')).toBe('a\\\\b');
    expect(encodeCopyField('a\nb')).toBe('a\\nb');
    expect(encodeCopyField('a\rb')).toBe('a\\rb');
    expect(encodeCopyField('a\tb')).toBe('a\\tb');
    expect(encodeCopyField('\\\n\r\t')).toBe('\\\\\\n\\r\\t');
  });

  it('keeps the string \\N distinct from NULL', () => {
    expect(encodeCopyField('\\N')).toBe('\\\\N');
  });
});

describe('decodeCopyField', () => {
  it('decodes \\N as NULL', () => {
    expect(decodeCopyField('\\N')).toBeNull();
  });

  it('decodes an empty field as the empty string', () => {
    expect(decodeCopyField('')).toBe('');
  });

  it('decodes the backslash escapes', () => {
    expect(decodeCopyField('a\\\\b')).toBe('a\\b');
    expect(decodeCopyField('a\\nb')).toBe('a\nb');
    expect(decodeCopyField('a\\tb')).toBe('a\tb');
    expect(decodeCopyField('a\\rb')).toBe('a\rb');
    expect(decodeCopyField('\\b\\f\\v')).toBe('\b\f\v');
  });

  it('decodes octal and hex escapes', () => {
    expect(decodeCopyField('\\101')).toBe('A');
    expect(decodeCopyField('\\x41')).toBe('A');
    expect(decodeCopyField('x\\101\\x42y')).toBe('xABy');
  });

  it('decodes \\\\N as the two-character string, not NULL', () => {
    expect(decodeCopyField('\\\\N')).toBe('\\N');
  });

  it('leaves unescaped text alone', () => {
    expect(decodeCopyField('café 😀')).toBe('café 😀');
  });
});

describe('encode and decode', () => {
  it.each(AWKWARD.map((s) => [s]))('round-trips %j', (s) => {
    const encoded = encodeCopyField(s);
    expect(encoded).not.toMatch(/[\n\r\t]/);
    expect(decodeCopyField(encoded)).toBe(s);
  });

  it('round-trips NULL', () => {
    expect(decodeCopyField(encodeCopyField(null))).toBeNull();
  });
});

describe('copyLine', () => {
  it('joins encoded fields with tabs and ends the line with a newline', () => {
    expect(copyLine(['alice', null, 42, true, false, 'x\ty', '', undefined])).toBe('alice\t\\N\t42\tt\tf\tx\\ty\t\t\\N\n');
  });

  it('makes a single field line', () => {
    expect(copyLine(['only'])).toBe('only\n');
  });

  it('parses back to the same values', async () => {
    const text = copyLine(['a', null, 'b\nc']) + copyLine([...AWKWARD]);
    expect(await parse([Buffer.from(text)])).toEqual([['a', null, 'b\nc'], [...AWKWARD]]);
  });
});

describe('CopyRowParser', () => {
  const text =
    'alice\t\\N\tcafé ☕ 😀\tback\\\\slash and\\nnewline\n' + //
    '@bob:example.com\t1623366000000\tt\t\\ttab\n' +
    '\t\t\\N\t\n' +
    'last\trow\twithout\tnewline';
  const expected: CopyValue[][] = [
    ['alice', null, 'café ☕ 😀', 'back\\slash and\nnewline'],
    ['@bob:example.com', '1623366000000', 't', '\ttab'],
    ['', '', null, ''],
    ['last', 'row', 'without', 'newline'],
  ];
  const buf = Buffer.from(text, 'utf8');

  it('parses rows from one chunk, including a final row without a newline', async () => {
    expect(await parse([buf])).toEqual(expected);
  });

  it('parses the same rows when fed one byte at a time', async () => {
    expect(await parse(bytes(buf))).toEqual(expected);
  });

  it('parses the same rows whichever byte the stream is split at', async () => {
    for (let i = 1; i < buf.length; i++) {
      expect(await parse([buf.subarray(0, i), buf.subarray(i)]), `split at byte ${i}`).toEqual(expected);
    }
  });

  it('joins a multi-byte UTF-8 character split across chunks', async () => {
    const row = Buffer.from('😀€\n', 'utf8'); // 4 + 3 bytes
    expect(await parse([row.subarray(0, 1), row.subarray(1, 2), row.subarray(2, 5), row.subarray(5)])).toEqual([['😀€']]);
  });

  it('joins an escape sequence split across chunks', async () => {
    expect(await parse([Buffer.from('a\\'), Buffer.from('nb\t\\'), Buffer.from('N\n')])).toEqual([['a\nb', null]]);
  });

  it('reads an empty line as a row of one empty field', async () => {
    expect(await parse([Buffer.from('\n\\N\n')])).toEqual([[''], [null]]);
  });

  it('gives no rows for no data', async () => {
    expect(await parse([])).toEqual([]);
  });
});

describe('COPY against PostgreSQL', () => {
  const db = useTestDatabase('empty');
  let source: pg.Client;
  let target: pg.Client;

  const COLUMNS = ['id', 'label', 'n', 'flag', 'at'] as const;
  const SELECT = `SELECT ${COLUMNS.join(', ')} FROM`;
  const BIG = 'x'.repeat(100_000) + '\t€😀\n'.repeat(20_000);

  /** id, label, n, flag, at (ISO) */
  const ROWS: ReadonlyArray<readonly [number, string | null, number | null, boolean | null, string | null]> = [
    ...AWKWARD.map((s, i) => [i + 1, s, i * 1000 - 5, i % 2 === 0, '2021-06-10T23:00:00.000Z'] as const),
    [100, null, null, null, null],
    [101, BIG, 2147483647, true, '2019-04-02T18:09:09.014Z'],
    [102, '\\N', -2147483648, false, '1970-01-01T00:00:00.000Z'],
  ];

  /** What COPY TO STDOUT gives for each row, decoded, with TimeZone UTC and ISO dates. */
  const expectedRow = ([id, label, n, flag, at]: (typeof ROWS)[number]): CopyValue[] => [
    String(id),
    label,
    n === null ? null : String(n),
    flag === null ? null : flag ? 't' : 'f',
    at === null ? null : isoToPg(at),
  ];

  function isoToPg(iso: string): string {
    // 2021-06-10T23:00:00.000Z -> 2021-06-10 23:00:00+00, 2019-04-02T18:09:09.014Z -> 2019-04-02 18:09:09.014+00
    const [date, time] = iso.replace(/Z$/, '').split('T') as [string, string];
    return `${date} ${time.replace(/\.000$/, '')}+00`;
  }

  async function connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'");
    return client;
  }

  beforeAll(async () => {
    await db.client.query("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'");
    await db.client.query(`
      CREATE TABLE awkward (id integer PRIMARY KEY, label text, n integer, flag boolean, at timestamptz);
      CREATE TABLE awkward_copy (LIKE awkward INCLUDING ALL);
      CREATE TABLE mapped (id integer PRIMARY KEY, label text, n integer, flag boolean, at timestamptz);
      CREATE TABLE many (id integer PRIMARY KEY, label text);
      CREATE TABLE many_copy (LIKE many INCLUDING ALL);
      CREATE TABLE never (id integer PRIMARY KEY, label text);
    `);
    for (const row of ROWS) await db.client.query('INSERT INTO awkward VALUES ($1, $2, $3, $4, $5)', [...row]);
    await db.client.query(`INSERT INTO many SELECT g, 'row ' || g || E'\\t' || repeat('é', g % 50) FROM generate_series(1, 20000) g`);
    source = await connect();
    target = await connect();
  });

  afterAll(async () => {
    await source?.end().catch(() => undefined);
    await target?.end().catch(() => undefined);
  });

  it('reads awkward values back through copyOut, decoded exactly', async () => {
    const rows: CopyValue[][] = [];
    await copyOut(db.client, `${SELECT} awkward ORDER BY id`, (row) => rows.push(row));
    expect(rows).toHaveLength(ROWS.length);
    rows.forEach((row, i) => {
      const want = ROWS[i];
      if (want === undefined) throw new Error(`unexpected row ${i}`);
      expect(row, `row id ${want[0]}`).toEqual(expectedRow(want));
    });
    // The client is still usable afterwards.
    expect((await db.client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('distinguishes NULL from the empty string and from the string \\N', async () => {
    const rows: CopyValue[][] = [];
    await copyOut(db.client, `SELECT id, label FROM awkward WHERE id IN (1, 10, 100, 102) ORDER BY id`, (row) => rows.push(row));
    expect(rows).toEqual([
      ['1', ''],
      ['10', '\\N'],
      ['100', null],
      ['102', '\\N'],
    ]);
  });

  it('copies a table into another with copyBetween, byte for byte', async () => {
    await copyBetween(source, `${SELECT} awkward`, (row) => copyLine(row), { client: target, table: 'awkward_copy', columns: COLUMNS });
    const a = await db.client.query(`${SELECT} awkward ORDER BY id`);
    const b = await db.client.query(`${SELECT} awkward_copy ORDER BY id`);
    expect(b.rows).toHaveLength(ROWS.length);
    expect(b.rows).toEqual(a.rows);
    const { rows } = await db.client.query<{ same: boolean }>(
      'SELECT bool_and(a.label IS NOT DISTINCT FROM b.label AND a.at IS NOT DISTINCT FROM b.at) AS same FROM awkward a JOIN awkward_copy b USING (id)',
    );
    expect(rows).toEqual([{ same: true }]);
  });

  it('applies the mapping: rows can be dropped and values changed', async () => {
    await copyBetween(
      source,
      `${SELECT} awkward`,
      (row) => {
        const [id, label, n, flag, at] = row;
        if (Number(id) % 2 === 0) return undefined;
        return copyLine([id, label === null ? null : `[${label}]`, n === null ? null : Number(n) - 1, flag === null ? null : flag !== 't', at]);
      },
      { client: target, table: 'mapped', columns: COLUMNS },
    );
    const { rows } = await db.client.query(`${SELECT} mapped ORDER BY id`);
    const odd = ROWS.filter(([id]) => id % 2 === 1);
    expect(rows.map((r) => r.id)).toEqual(odd.map(([id]) => id));
    for (const [id, label, n, flag, at] of odd) {
      const got = rows.find((r) => r.id === id);
      expect(got, `row ${id}`).toEqual({
        id,
        label: label === null ? null : `[${label}]`,
        n: n === null ? null : n - 1,
        flag: flag === null ? null : !flag,
        at: at === null ? null : new Date(at),
      });
    }
  });

  it('streams many rows through copyBetween', async () => {
    await copyBetween(source, 'SELECT id, label FROM many', (row) => copyLine(row), { client: target, table: 'many_copy', columns: ['id', 'label'] });
    const { rows } = await db.client.query(
      'SELECT (SELECT count(*) FROM many_copy)::int AS n, (SELECT count(*) FROM many a FULL JOIN many_copy b USING (id) WHERE a.label IS DISTINCT FROM b.label)::int AS diff',
    );
    expect(rows).toEqual([{ n: 20000, diff: 0 }]);
  });

  it('fails, writing nothing, when the mapping throws', async () => {
    const s = await connect();
    const t = await connect();
    try {
      await expect(
        copyBetween(
          s,
          'SELECT id, label FROM many ORDER BY id',
          (row) => {
            if (row[0] === '15000') throw new Error('fatal row');
            return copyLine(row);
          },
          { client: t, table: 'never', columns: ['id', 'label'] },
        ),
      ).rejects.toThrow('fatal row');
    } finally {
      await s.end().catch(() => undefined);
      await t.end().catch(() => undefined);
    }
    const { rows } = await db.client.query('SELECT count(*)::int AS n FROM never');
    expect(rows).toEqual([{ n: 0 }]);
  });
});
