// A unified diff of two versions of a text file, as `diff -u` writes it: Myers' shortest edit
// script over lines, hunks with three lines of context, `\ No newline at end of file` where one
// version lacks a final line break. Written here rather than taken from a package: it is ninety
// lines, and the callers need one thing a package would not give, hiding chosen lines of the old
// version (secrets) in what is shown.

export type DiffOp = { op: ' ' | '-'; a: number; b?: number } | { op: '+'; b: number };

/** The shortest list of keep/remove/add operations from `a` to `b` (Myers, 1986). */
export function diffLines(a: readonly string[], b: readonly string[]): DiffOp[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  outer: for (let d = 0; d <= max; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && (v[offset + k - 1] ?? 0) < (v[offset + k + 1] ?? 0)) ? (v[offset + k + 1] ?? 0) : (v[offset + k - 1] ?? 0) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) break outer;
    }
  }
  // Walk the trace back from the end to recover the path.
  const ops: DiffOp[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d]!;
    const k = x - y;
    const down = k === -d || (k !== d && (vd[offset + k - 1] ?? 0) < (vd[offset + k + 1] ?? 0));
    const prevK = down ? k + 1 : k - 1;
    const prevX = vd[offset + prevK] ?? 0;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) ops.push({ op: ' ', a: --x, b: --y });
    if (d > 0) {
      if (down) ops.push({ op: '+', b: --y });
      else ops.push({ op: '-', a: --x });
    }
  }
  return ops.reverse();
}

export interface FileVersions {
  /** Shown after --- ; /dev/null for a new file. */
  oldName: string;
  newName: string;
  oldLines: readonly string[];
  newLines: readonly string[];
  /** Whether each version ends with a line break (a new or empty file: true). */
  oldEndsWithNewline?: boolean;
  newEndsWithNewline?: boolean;
  /** Old line indexes to show as `show(line)` instead of as they are. */
  hide?: ReadonlySet<number>;
  show?: (line: string) => string;
}

const CONTEXT = 3;
const NO_EOL = '\u0000no newline at end of file';

/** The unified diff, or '' when the versions are the same. */
export function unifiedDiff(f: FileVersions): string {
  // A last line without its line break differs from the same text with one, as in diff -u.
  const keyed = (lines: readonly string[], eol: boolean | undefined) => lines.map((l, i) => (i === lines.length - 1 && eol === false ? `${l}${NO_EOL}` : l));
  const a = keyed(f.oldLines, f.oldEndsWithNewline);
  const b = keyed(f.newLines, f.newEndsWithNewline);
  const ops = diffLines(a, b);
  if (ops.every((o) => o.op === ' ')) return '';
  // How many lines of each version come before each operation.
  const aPos: number[] = [];
  const bPos: number[] = [];
  let ax = 0;
  let bx = 0;
  for (const o of ops) {
    aPos.push(ax);
    bPos.push(bx);
    if (o.op !== '+') ax++;
    if (o.op !== '-') bx++;
  }
  const show = (text: string, at: number | undefined): string[] => {
    const eol = text.endsWith(NO_EOL);
    const bare = eol ? text.slice(0, -NO_EOL.length) : text;
    const shown = at !== undefined && f.hide?.has(at) === true && f.show !== undefined ? f.show(bare) : bare;
    return eol ? [shown, '\\ No newline at end of file'] : [shown];
  };
  const range = (start: number, count: number): string => (count === 1 ? `${start + 1}` : `${count === 0 ? start : start + 1},${count}`);
  const out = [`--- ${f.oldName}`, `+++ ${f.newName}`];
  const changed = ops.flatMap((o, i) => (o.op === ' ' ? [] : [i]));
  let i = 0;
  while (i < changed.length) {
    // Changes whose context would overlap go into one hunk.
    let j = i;
    while (j + 1 < changed.length && (changed[j + 1] ?? 0) - (changed[j] ?? 0) <= 2 * CONTEXT) j++;
    const from = Math.max(0, (changed[i] ?? 0) - CONTEXT);
    const to = Math.min(ops.length - 1, (changed[j] ?? 0) + CONTEXT);
    const hunk = ops.slice(from, to + 1);
    const aCount = hunk.filter((o) => o.op !== '+').length;
    const bCount = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${range(aPos[from] ?? 0, aCount)} +${range(bPos[from] ?? 0, bCount)} @@`);
    for (const o of hunk) {
      const [first, ...rest] = o.op === '+' ? show(b[o.b] ?? '', undefined) : show(a[o.a] ?? '', o.a);
      out.push(`${o.op}${first}`, ...rest);
    }
    i = j + 1;
  }
  return `${out.join('\n')}\n`;
}
