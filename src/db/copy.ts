// PostgreSQL COPY in text format, streamed: rows out of one database and into another with
// back-pressure, so that memory stays flat whatever the table size. COPY is the fastest way in and
// out of PostgreSQL; node-postgres needs pg-copy-streams to speak its sub-protocol.
import { Transform, type TransformCallback, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import pgCopy from 'pg-copy-streams';

export type CopyValue = string | null;

/** Encodes one field for COPY text format. */
export function encodeCopyField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number') return String(value);
  if (!/[\\\n\r\t]/.test(value)) return value;
  return value.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));
}

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

/** Decodes one field of COPY text format output. */
export function decodeCopyField(raw: string): CopyValue {
  if (raw === '\\N') return null;
  if (!raw.includes('\\')) return raw;
  return raw.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, esc: string) => {
    if (esc[0] === 'x') return String.fromCharCode(parseInt(esc.slice(1), 16));
    if (/^[0-7]/.test(esc)) return String.fromCharCode(parseInt(esc, 8));
    return ESCAPES[esc] ?? esc;
  });
}

/**
 * Splits a COPY TO text stream into rows (arrays of fields), across chunk boundaries. Rows are pushed
 * in batches, one per chunk: per-row stream bookkeeping would cost more than the parsing itself.
 */
export class CopyRowParser extends Transform {
  #pending: Buffer | undefined;

  constructor() {
    super({ readableObjectMode: true, readableHighWaterMark: 16 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const data = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    const last = data.lastIndexOf(10);
    if (last === -1) {
      this.#pending = data;
      done();
      return;
    }
    this.#pending = last + 1 < data.length ? data.subarray(last + 1) : undefined;
    // Cut at a newline, so never inside a multi-byte character.
    this.push(parseLines(data.toString('utf8', 0, last)));
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.#pending !== undefined && this.#pending.length > 0) this.push(parseLines(this.#pending.toString('utf8')));
    done();
  }
}

function parseLines(text: string): CopyValue[][] {
  const lines = text.split('\n');
  const rows: CopyValue[][] = new Array(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const fields: CopyValue[] = (lines[i] as string).split('\t');
    for (let j = 0; j < fields.length; j++) {
      const f = fields[j] as string;
      if (f.indexOf('\\') !== -1) fields[j] = decodeCopyField(f);
    }
    rows[i] = fields;
  }
  return rows;
}

/**
 * Maps each parsed row to zero or one COPY text line (ending in '\n'), and writes them in large
 * batches so that the destination sees big writes.
 */
export class CopyRowMapper extends Transform {
  readonly #mapRow: (row: CopyValue[]) => string | undefined;

  constructor(mapRow: (row: CopyValue[]) => string | undefined) {
    super({ writableObjectMode: true, writableHighWaterMark: 16 });
    this.#mapRow = mapRow;
  }

  override _transform(rows: CopyValue[][], _encoding: BufferEncoding, done: TransformCallback): void {
    let out = '';
    try {
      for (const row of rows) {
        const line = this.#mapRow(row);
        if (line !== undefined) out += line;
      }
    } catch (error) {
      done(error as Error);
      return;
    }
    if (out !== '') this.push(out);
    done();
  }
}

/** One COPY text line from encoded fields. */
export function copyLine(fields: ReadonlyArray<string | number | boolean | null | undefined>): string {
  let out = '';
  for (let i = 0; i < fields.length; i++) out += (i === 0 ? '' : '\t') + encodeCopyField(fields[i]);
  return `${out}\n`;
}

/**
 * Streams `COPY (query) TO STDOUT` from `source` through `map` into `COPY table (columns) FROM STDIN`
 * on `target`. With no target, the mapped lines are discarded (for counting).
 */
export async function copyBetween(
  source: pg.Client,
  query: string,
  map: (row: CopyValue[]) => string | undefined,
  target: { client: pg.Client; table: string; columns: readonly string[] } | undefined,
): Promise<void> {
  const out = source.query(pgCopy.to(`COPY (${query}) TO STDOUT`));
  const sink =
    target === undefined
      ? new Writable({ write: (_c, _e, done) => done() })
      : target.client.query(pgCopy.from(`COPY ${target.table} (${target.columns.join(', ')}) FROM STDIN`));
  await pipeline(out, new CopyRowParser(), new CopyRowMapper(map), sink);
}

/** Runs `COPY (query) TO STDOUT` and hands each parsed row to `onRow`. */
export async function copyOut(source: pg.Client, query: string, onRow: (row: CopyValue[]) => void): Promise<void> {
  await copyBetween(source, query, (row) => {
    onRow(row);
    return undefined;
  }, undefined);
}

/**
 * Pipes `COPY (query) TO STDOUT` on `source` byte for byte into `COPY table (columns) FROM STDIN` on
 * `target`: for rows that need no change on the way, nothing is parsed.
 */
export async function relayCopy(source: pg.Client, query: string, target: { client: pg.Client; table: string; columns: readonly string[] }): Promise<void> {
  const out = source.query(pgCopy.to(`COPY (${query}) TO STDOUT`));
  const sink = target.client.query(pgCopy.from(`COPY ${target.table} (${target.columns.join(', ')}) FROM STDIN`));
  await pipeline(out, sink);
}
