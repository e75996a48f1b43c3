// The record level of `--from-file` input: RFC 4180 CSV (quoted fields, doubled quotes, commas and
// line breaks inside quotes, CRLF), one record per line otherwise; blank lines and lines starting
// with '#' (outside quotes) skipped. Resumable, so that a file of a million rows is read in chunks:
// given the text read so far, it returns the complete records and how much of the text they used,
// and the caller keeps the rest for the next chunk. Problems name the file and the line.
import { MasToolError } from '../errors.js';

export const INPUT_FILE_ERROR = 'MAS_TOOL_INPUT_FILE';

export interface RawRecord {
  /** The line the record starts on (1-based). */
  line: number;
  fields: string[];
}

export interface Tokenized {
  records: RawRecord[];
  /** How many characters of the text the records used; the rest belongs to the next chunk. */
  consumed: number;
  /** The line number at `consumed`. */
  nextLine: number;
}

export function inputError(file: string, line: number | undefined, message: string, hint?: string): MasToolError {
  const where = line === undefined ? file : `${file}:${line}`;
  return new MasToolError(INPUT_FILE_ERROR, `${where}: ${message}`, {
    ...(hint === undefined ? {} : { hint }),
    details: line === undefined ? { file } : { file, line },
  });
}

const COMMA = 44;
const LF = 10;
const CR = 13;

/** Whitespace other than line breaks (what String#trim removes), for telling blank lines. */
function isBlank(c: number): boolean {
  if (c === 32 || c === 9 || c === 11 || c === 12) return true;
  return c > 127 && /\s/.test(String.fromCharCode(c));
}

/** Thrown inside a record that the text ends in the middle of; caught by tokenize. */
class NeedMore extends Error {}

/**
 * Splits `text` into records. With `final` false the text is a prefix of the file: a record that
 * the text does not finish (no line break after it yet, an open quote, a CR that may be half of a
 * CRLF) is left for the next call. Quotes only mean something at the start of a field; a quote
 * inside an unquoted field is kept as it is (as most spreadsheet readers do), so that a plain list
 * line such as `o"brien` is not an error.
 */
export function tokenize(text: string, file: string, options: { final: boolean; firstLine?: number }): Tokenized {
  const { final } = options;
  const records: RawRecord[] = [];
  const n = text.length;
  let line = options.firstLine ?? 1;
  let i = 0;

  // Length of the line break at `at`: CRLF, LF, or a lone CR (old Mac exports). A CR that ends a
  // chunk may be the first half of a CRLF, so it is not judged before the next chunk is there.
  const atLineBreak = (at: number): number => {
    if (text[at] === '\r') {
      if (at + 1 === n && !final) throw new NeedMore();
      return text[at + 1] === '\n' ? 2 : 1;
    }
    if (text[at] === '\n') return 1;
    return 0;
  };

  const readRecord = (): RawRecord => {
    const start = line;
    const fields: string[] = [];
    let field = '';
    for (;;) {
      // Start of a field. Spaces before an opening quote are allowed (`a, "b"`); values are trimmed anyway.
      let j = i;
      while (j < n && (text[j] === ' ' || text[j] === '\t')) j++;
      if (text[j] === '"') {
        const openedOn = line;
        i = j + 1;
        for (;;) {
          if (i >= n) {
            if (!final) throw new NeedMore();
            throw inputError(file, openedOn, 'a quoted field is not closed: a \'"\' opens it and no matching \'"\' follows.', 'Inside a quoted field write a quote as "" (two quotes).');
          }
          const c = text[i];
          if (c === '"') {
            if (i + 1 === n && !final) throw new NeedMore();
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          const lb = atLineBreak(i);
          if (lb > 0) {
            field += '\n';
            i += lb;
            line++;
            continue;
          }
          field += c;
          i++;
        }
        // After the closing quote only spaces may come before the separator.
        while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
        if (i < n && text[i] !== ',' && atLineBreak(i) === 0) {
          throw inputError(file, line, `unexpected text after a closing quote: ${JSON.stringify(text.slice(i, i + 20))}.`, 'Quote the whole field, and write a quote inside it as "".');
        }
      } else {
        // An unquoted field runs to the next comma or line break; cut it out in one piece.
        const from = i;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === COMMA || c === LF || c === CR) break;
          i++;
        }
        field = text.slice(from, i);
      }
      fields.push(field.trim());
      field = '';
      if (i < n && text[i] === ',') {
        i++;
        continue;
      }
      // End of the record: a line break, or the end of the text (only the end of the file ends one).
      if (i >= n && !final) throw new NeedMore();
      const lb = i < n ? atLineBreak(i) : 0;
      i += lb;
      if (lb > 0) line++;
      return { line: start, fields };
    }
  };

  while (i < n) {
    const recordStart = i;
    const recordLine = line;
    try {
      // At the start of a line: skip blank and comment lines whole.
      let j = i;
      while (j < n && isBlank(text.charCodeAt(j))) j++;
      if (j >= n && !final) throw new NeedMore();
      if (j >= n || text[j] === '\n' || text[j] === '\r' || text[j] === '#') {
        let end = j;
        while (end < n && text[end] !== '\n' && text[end] !== '\r') end++;
        if (end >= n && !final) throw new NeedMore();
        i = end + (end < n ? atLineBreak(end) : 0);
        line++;
        continue;
      }
      records.push(readRecord());
    } catch (error) {
      if (!(error instanceof NeedMore)) throw error;
      return { records, consumed: recordStart, nextLine: recordLine };
    }
  }
  return { records, consumed: i, nextLine: line };
}
