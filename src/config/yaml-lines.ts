// Where keys sit in a YAML file, as line numbers of the file's own text, so that a change can be
// made to those lines alone and every other byte of the operator's file (comments, quoting, order,
// blank lines) stays as it was. Also which lines hold secret values, so that a diff shown on the
// terminal can hide them.
import { isMap, isPair, isScalar, isSeq, parseDocument, visit, type Document, type Node, type Pair, type YAMLMap } from 'yaml';

export interface LineSpan {
  /** 0-based, inclusive. */
  first: number;
  last: number;
}

export interface KeySpan extends LineSpan {
  /** Why the lines cannot be cut out alone, when they cannot (then change the file by hand). */
  manual?: string;
}

export interface YamlLines {
  lines: string[];
  doc: Document;
  /** Line index of a character offset. */
  lineOf(offset: number): number;
}

export function readYamlLines(text: string, dialect: '1.1' | '1.2' = '1.1'): YamlLines {
  const doc = parseDocument(text, { version: dialect, merge: true, keepSourceTokens: false, uniqueKeys: false });
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  const lineOf = (offset: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  // The text split the way a diff shows it: a final line break does not start an empty line.
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return { lines, doc, lineOf };
}

function keyText(pair: Pair): string | undefined {
  const k = pair.key;
  if (isScalar(k)) return String(k.value);
  return typeof k === 'string' ? k : undefined;
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  // A repeated key: PyYAML keeps the last one, so that is the one that matters.
  return [...map.items].reverse().find((p) => isPair(p) && keyText(p) === key) as Pair | undefined;
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/** The lines of one pair of a block map, with the comment lines indented under it that follow. */
function pairSpan(y: YamlLines, pair: Pair, map: YAMLMap): KeySpan {
  const key = pair.key as Node | null;
  const value = pair.value as Node | null;
  const start = key?.range?.[0] ?? 0;
  const end = value?.range?.[1] ?? key?.range?.[1] ?? start;
  const first = y.lineOf(start);
  let last = y.lineOf(Math.max(start, end - 1));
  const own = indentOf(y.lines[first] ?? '');
  // A comment under the value, indented deeper than the key, belongs to it.
  while (last + 1 < y.lines.length) {
    const next = y.lines[last + 1] ?? '';
    if (next.trim().startsWith('#') && indentOf(next) > own) last++;
    else break;
  }
  const span: KeySpan = { first, last };
  if (map.flow === true) return { ...span, manual: 'it is written in flow style ({ ... }) on a line shared with other keys' };
  // Another pair starting on one of these lines (`a: 1, b: 2` cannot happen in block style, but a
  // key and the end of a multi-line flow value can share a line).
  for (const other of map.items) {
    if (other === pair || !isPair(other)) continue;
    const at = y.lineOf((other.key as Node | null)?.range?.[0] ?? 0);
    if (at >= first && at <= last) return { ...span, manual: 'another key shares its lines' };
  }
  const anchors = new Set<string>();
  visit(value ?? ({} as Node), {
    Node(_, node) {
      const a = (node as { anchor?: string }).anchor;
      if (a !== undefined) anchors.add(a);
    },
  });
  if (anchors.size > 0) {
    let used = false;
    visit(y.doc, {
      Alias(_, node) {
        const at = y.lineOf(node.range?.[0] ?? 0);
        if (anchors.has(node.source) && (at < first || at > last)) used = true;
      },
    });
    if (used) return { ...span, manual: `it defines an anchor (&${[...anchors].join(', &')}) that other keys use` };
  }
  return span;
}

/**
 * The lines of `path` (a top-level key, or `section.key`) in this file; undefined when the file
 * does not set it. For `section.key`, `wholeSection` says that the section holds nothing else, so
 * that removing the key should remove the section.
 */
export function locateKey(y: YamlLines, path: string): (KeySpan & { wholeSection?: boolean }) | undefined {
  const top = y.doc.contents;
  if (!isMap(top)) return undefined;
  const [head, child] = path.split('.', 2) as [string, string | undefined];
  const pair = findPair(top, head);
  if (pair === undefined) return undefined;
  if (child === undefined) return pairSpan(y, pair, top);
  const section = pair.value;
  if (!isMap(section)) return undefined;
  const inner = findPair(section, child);
  if (inner === undefined) return undefined;
  const others = section.items.filter((p) => p !== inner).length;
  if (others === 0) return { ...pairSpan(y, pair, top), wholeSection: true };
  return pairSpan(y, inner, section);
}

/** Whether the top level of the file is a map (an empty file counts as one). */
export function isMapFile(y: YamlLines): boolean {
  return y.doc.contents === null || isMap(y.doc.contents);
}

/** A key whose value is a secret: passwords, peppers, shared secrets, private keys, tokens. */
const SECRET_KEY = /(secret|password|passwd|pepper|private_key|token|(^|_)pass$|(^|_)key$)/i;
const NOT_SECRET = /(_path|_file|_dir|_url|_uri|_endpoint|_lifetime|_enabled|_required|_supported|_algorithm|_alg|_method|public_key)$/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !NOT_SECRET.test(key);
}

/**
 * Line indexes that carry a secret value: a scalar (all lines of a block scalar) or a list of
 * scalars under a secret key. A map under such a key is not hidden whole: its own keys are judged.
 */
export function secretLines(y: YamlLines): Set<number> {
  const out = new Set<number>();
  const mark = (node: Node | null | undefined): void => {
    // Secrets are text; a flag or a number under a secret-sounding key (registration_requires_token) is not one.
    if (node === null || node === undefined || !isScalar(node) || typeof node.value !== 'string') return;
    const [from, to] = node.range ?? [0, 0];
    for (let l = y.lineOf(from); l <= y.lineOf(Math.max(from, to - 1)); l++) out.add(l);
  };
  visit(y.doc, {
    Pair(_, pair) {
      const key = keyText(pair as Pair);
      if (key === undefined || !isSecretKey(key)) return;
      const value = (pair as Pair).value as Node | null;
      if (isSeq(value)) for (const item of value.items) mark(item as Node | null);
      else mark(value);
    },
  });
  return out;
}

/** The line with its value hidden: `  secret: "abc"` becomes `  secret: [redacted]`. */
export function maskLine(line: string): string {
  const m = /^(\s*(?:-\s+)?[^\s:#][^:#]*:)(\s+).+$/.exec(line);
  if (m !== null) return `${m[1]}${m[2]}[redacted]`;
  return `${line.slice(0, indentOf(line))}[redacted]`;
}
